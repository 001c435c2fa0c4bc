//! What the benchmarks share: an owner's API token for the served organization.

use chatter_model::{OrgId, Organization, Role};
use chatter_server::accounts::operator;

/// An owner's API token for `org`, made as `chatter user add` and `chatter token create` do.
pub async fn owner_token(store: &dyn chatter_store::Store, org: &OrgId) -> String {
    let shop = Organization::new(org.clone(), "Bench shop");
    store.put_organization(&shop).await.unwrap();
    let email = "bench@shop.example";
    operator::add_user(store, email, "Bench", "bench password", org, Role::Owner)
        .await
        .unwrap();
    operator::create_token(store, email, org, Role::Owner, "bench")
        .await
        .unwrap()
}
