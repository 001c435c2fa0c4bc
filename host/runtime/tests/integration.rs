//! Integration instances: `whoami` and `sync` calls, and the deny paths of `authorized-http`
//! (no grant, no connection, a gateway slower than the call's deadline).

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chatter_runtime::bindings::driver::chatter::plugin::types::Error;
use chatter_runtime::bindings::integration::chatter::plugin::authorized_http::{Request, Response};
use chatter_runtime::capabilities::authorized_http::ProviderGateway;
use chatter_runtime::{Fault, InstanceContext, IntegrationInstance, LoadedPlugin, Runtime};

/// A gateway that answers every request with `body` after `delay`, and keeps the requests.
struct Recording {
    body: &'static str,
    delay: Duration,
    seen: Mutex<Vec<Request>>,
}

#[async_trait]
impl ProviderGateway for Recording {
    async fn send(&self, request: Request) -> Result<Response, Error> {
        self.seen.lock().unwrap().push(request);
        tokio::time::sleep(self.delay).await;
        Ok(Response {
            status: 200,
            headers: vec![],
            body: self.body.as_bytes().to_vec(),
        })
    }
}

fn context(plugin: &LoadedPlugin, granted: bool) -> InstanceContext {
    let mut context = InstanceContext::for_org(common::org());
    context.config = plugin.manifest.resolve_config(&Default::default()).unwrap();
    if granted {
        context.grants = plugin.manifest.capabilities.keys().copied().collect();
    }
    context
}

async fn whoami(
    runtime: &Runtime,
    plugin: &Arc<LoadedPlugin>,
    context: InstanceContext,
) -> Result<String, Fault> {
    let mut instance = IntegrationInstance::start(runtime, plugin.clone(), context).await?;
    instance
        .whoami(Duration::from_millis(500))
        .await
        .map(|account| account.name)
}

#[tokio::test]
async fn requests_go_through_the_gateway() {
    let runtime = common::runtime();
    let plugin = common::load(&runtime, "hello-integration");
    let gateway = Arc::new(Recording {
        body: "Ada Lovelace\n",
        delay: Duration::ZERO,
        seen: Mutex::default(),
    });
    let mut context = context(&plugin, true);
    context.gateway = Some(gateway.clone());
    assert_eq!(
        whoami(&runtime, &plugin, context).await.unwrap(),
        "Ada Lovelace"
    );
    let seen = gateway.seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].url, "https://api.example.com/me");
}

#[tokio::test]
async fn without_the_grant_a_request_is_denied() {
    let runtime = common::runtime();
    let plugin = common::load(&runtime, "hello-integration");
    let gateway = Arc::new(Recording {
        body: "never",
        delay: Duration::ZERO,
        seen: Mutex::default(),
    });
    let mut context = context(&plugin, false);
    context.gateway = Some(gateway.clone());
    let fault = whoami(&runtime, &plugin, context).await.unwrap_err();
    assert!(
        matches!(&fault, Fault::Plugin { code, message } if code == "denied" && message.contains("`authorized-http` capability is not granted")),
        "{fault:?}"
    );
    assert!(gateway.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn without_a_connection_a_request_is_denied() {
    let runtime = common::runtime();
    let plugin = common::load(&runtime, "hello-integration");
    let fault = whoami(&runtime, &plugin, context(&plugin, true))
        .await
        .unwrap_err();
    assert!(
        matches!(&fault, Fault::Plugin { code, message } if code == "denied" && message.contains("has no connection")),
        "{fault:?}"
    );
}

#[tokio::test]
async fn a_gateway_slower_than_the_deadline_times_out() {
    let runtime = common::runtime();
    let plugin = common::load(&runtime, "hello-integration");
    let mut context = context(&plugin, true);
    context.gateway = Some(Arc::new(Recording {
        body: "too late",
        delay: Duration::from_secs(10),
        seen: Mutex::default(),
    }));
    let started = std::time::Instant::now();
    let fault = whoami(&runtime, &plugin, context).await.unwrap_err();
    // The host stops waiting at the deadline; the guest, back in control past its deadline,
    // is interrupted at its next epoch check.
    assert!(
        matches!(&fault, Fault::Deadline { .. })
            || matches!(&fault, Fault::Plugin { code, .. } if code == "timeout"),
        "{fault:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the deadline ended the wait"
    );
}

#[tokio::test]
async fn a_driver_is_not_started_as_an_integration() {
    let runtime = common::runtime();
    let plugin = common::load(&runtime, "hello-driver");
    let error =
        IntegrationInstance::start(&runtime, plugin, InstanceContext::for_org(common::org()))
            .await
            .err()
            .unwrap();
    assert!(
        error.to_string().contains("is not an integration"),
        "{error}"
    );
}
