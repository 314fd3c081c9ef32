//! Secrets out of every location or URL that cxsql prints or stores.

use std::borrow::Cow;
use std::sync::LazyLock;

/// Query-string keys whose values are secrets (presigned URLs, SAS tokens, passwords).
const SECRET_KEYS: &str = "x-amz-signature|x-amz-credential|x-amz-security-token|signature|sig|token|\
                           access_token|password|passwd|secret|secret_access_key|session_token|api_key|apikey|key";

/// `text` with credentials removed from every URL in it: the password of `scheme://user:password@host` and
/// the values of secret query parameters (`X-Amz-Signature=`, `sig=`, `token=`, ...) become `***`.
pub fn redact(text: &str) -> Cow<'_, str> {
    static USERINFO: LazyLock<Option<regex::Regex>> = LazyLock::new(|| {
        regex::Regex::new(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/\s:@]*):[^/\s@]*@")
            .ok()
    });
    static QUERY: LazyLock<Option<regex::Regex>> = LazyLock::new(|| {
        regex::Regex::new(&format!(r"(?i)(?P<k>[?&](?:{SECRET_KEYS}))=[^&\s#'\x22]*")).ok()
    });
    let mut out = Cow::Borrowed(text);
    if let Some(re) = USERINFO.as_ref()
        && re.is_match(&out)
    {
        out = Cow::Owned(re.replace_all(&out, "${scheme}${user}:***@").into_owned());
    }
    if let Some(re) = QUERY.as_ref()
        && re.is_match(&out)
    {
        out = Cow::Owned(re.replace_all(&out, "${k}=***").into_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_urls_are_redacted_and_the_rest_kept() {
        assert_eq!(
            redact("cannot reach http://admin:hunter2@minio:9000/bucket: refused"),
            "cannot reach http://admin:***@minio:9000/bucket: refused"
        );
        assert_eq!(
            redact(
                "GET https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA1&X-Amz-Signature=abc123&part=2"
            ),
            "GET https://b.s3.amazonaws.com/k?X-Amz-Credential=***&X-Amz-Signature=***&part=2"
        );
        assert_eq!(
            redact("https://acct.blob.core.windows.net/c?sv=2020&sig=Zm9v%3D"),
            "https://acct.blob.core.windows.net/c?sv=2020&sig=***"
        );
        let plain = "data/tickets.parquet: no such file; see http://example.com/a?b=c";
        assert!(matches!(redact(plain), Cow::Borrowed(_)));
        assert_eq!(redact("s3://user@bucket/key"), "s3://user@bucket/key");
    }
}
