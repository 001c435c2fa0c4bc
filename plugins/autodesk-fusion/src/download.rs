//! GETs as a sync needs them: redirects followed by hand (the host returns them as they are),
//! non-2xx statuses turned into errors that name the URL without its query (signed URLs carry
//! secrets there), JSON bodies, and OSS objects through their signed download URL.

use chatter_sdk::{Error, ErrorCode};
use serde_json::Value;

use crate::host::Transport;

/// Most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 5;

/// The body of a successful GET of `url`, following up to [`MAX_REDIRECTS`] redirects.
pub fn get(transport: &mut dyn Transport, url: &str) -> Result<Vec<u8>, Error> {
    let mut url = url.to_owned();
    for _ in 0..=MAX_REDIRECTS {
        let response = transport.get(&url)?;
        let status = response.status;
        if (300..400).contains(&status) {
            let location = response
                .headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("location"))
                .map(|(_, value)| value.trim())
                .filter(|value| !value.is_empty())
                .ok_or_else(|| {
                    Error::protocol(format!(
                        "GET {} answered {status} without a Location",
                        redacted(&url)
                    ))
                })?;
            url = resolve(&url, location);
            continue;
        }
        if !(200..300).contains(&status) {
            let code = match status {
                401 | 403 => ErrorCode::Denied,
                404 | 410 => ErrorCode::NotFound,
                429 | 500.. => ErrorCode::Unreachable,
                _ => ErrorCode::Protocol,
            };
            return Err(Error::new(
                code,
                format!("GET {} answered {status}", redacted(&url)),
            ));
        }
        return Ok(response.body);
    }
    Err(Error::protocol(format!(
        "GET {} redirected more than {MAX_REDIRECTS} times",
        redacted(&url)
    )))
}

/// The JSON document at `url`.
pub fn get_json(transport: &mut dyn Transport, url: &str) -> Result<Value, Error> {
    let body = get(transport, url)?;
    serde_json::from_slice(&body).map_err(|e| {
        Error::protocol(format!(
            "GET {} answered with invalid JSON: {e}",
            redacted(url)
        ))
    })
}

/// The content of the OSS object a version's storage URN names
/// (`urn:adsk.objects:os.object:{bucket}/{object}`), through its signed S3 download URL.
pub fn object(transport: &mut dyn Transport, api: &str, storage: &str) -> Result<Vec<u8>, Error> {
    let (bucket, key) = storage
        .strip_prefix("urn:adsk.objects:os.object:")
        .and_then(|path| path.split_once('/'))
        .filter(|(bucket, key)| !bucket.is_empty() && !key.is_empty())
        .ok_or_else(|| Error::protocol(format!("unknown storage location {storage:?}")))?;
    let signed_url = format!(
        "{api}/oss/v2/buckets/{}/objects/{}/signeds3download",
        encode(bucket),
        encode(key)
    );
    let signed = get_json(transport, &signed_url)?;
    let status = signed.get("status").and_then(Value::as_str);
    if status != Some("complete") {
        return Err(Error::protocol(format!(
            "the object {key:?} is not ready for download (status {})",
            status.unwrap_or("missing")
        )));
    }
    let url = signed
        .get("url")
        .and_then(Value::as_str)
        .filter(|url| url.starts_with("https://"))
        .ok_or_else(|| Error::protocol(format!("no download URL for the object {key:?}")))?;
    get(transport, url)
}

/// `url` without its query and fragment, fit for messages and logs.
pub fn redacted(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

/// `location` (absolute, scheme-relative, absolute-path or relative) against `base`.
pub fn resolve(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_owned();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    if let Some(authority_and_path) = location.strip_prefix("//") {
        return format!("{scheme}://{authority_and_path}");
    }
    let path_start = rest.find('/').unwrap_or(rest.len());
    let origin = &base[..scheme.len() + 3 + path_start];
    if location.starts_with('/') {
        return format!("{origin}{location}");
    }
    let path = redacted(&rest[path_start..]);
    let directory = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    let directory = if directory.is_empty() { "/" } else { directory };
    format!("{origin}{directory}{location}")
}

/// Percent-encodes a URL path segment: everything but unreserved characters.
pub fn encode(segment: &str) -> String {
    let mut encoded = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_resolve_against_the_request() {
        let base = "https://a.example/x/y/z?sig=secret";
        assert_eq!(resolve(base, "https://b.example/f"), "https://b.example/f");
        assert_eq!(resolve(base, "//c.example/g"), "https://c.example/g");
        assert_eq!(resolve(base, "/root?q=1"), "https://a.example/root?q=1");
        assert_eq!(resolve(base, "w"), "https://a.example/x/y/w");
        assert_eq!(resolve("https://a.example", "w"), "https://a.example/w");
    }

    #[test]
    fn messages_never_carry_the_query() {
        assert_eq!(
            redacted("https://s3.example/b/o?X-Amz-Signature=abc"),
            "https://s3.example/b/o"
        );
    }

    #[test]
    fn object_keys_are_percent_encoded() {
        assert_eq!(encode("a b/c+d.tools"), "a%20b%2Fc%2Bd.tools");
    }
}
