//! The smallest Chatter integration: asks its provider who the account is, imports nothing.

use chatter_sdk::http::{Method, Request, send};
use chatter_sdk::{Account, Error, Integration, SyncSummary, Timestamp, config};

struct Hello;

impl Integration for Hello {
    fn whoami() -> Result<Account, Error> {
        let url = config::get("profile-url")
            .ok_or_else(|| Error::invalid_config("config `profile-url` is not set"))?;
        let request = Request {
            method: Method::Get,
            url,
            headers: vec![],
            body: None,
        };
        let response = send(&request)?;
        let name = String::from_utf8(response.body)
            .map_err(|_| Error::protocol("the profile is not UTF-8 text"))?;
        Ok(Account {
            id: name.trim().to_lowercase(),
            name: name.trim().to_owned(),
        })
    }

    fn sync(_since: Option<Timestamp>) -> Result<SyncSummary, Error> {
        Ok(SyncSummary {
            imported: 0,
            skipped: 0,
            failures: vec![],
        })
    }
}

chatter_sdk::export_integration!(Hello);
