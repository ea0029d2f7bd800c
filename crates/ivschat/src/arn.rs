//! ARNs: formatting them (the one place, for the control plane and the chat socket alike), and recognising
//! identifiers (an ARN, or — as a documented Switchboard extension — a bare id). Ids come from the `ids` crate.

use store::ResourceKind;

/// `arn:aws:ivschat:{region}:{account}:{room|logging-configuration}/{id}`.
pub fn format(region: &str, account: &str, kind: ResourceKind, id: &str) -> String {
    format!("arn:aws:ivschat:{region}:{account}:{}/{id}", kind.arn_segment())
}

/// An ARN taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Arn<'a> {
    pub(crate) region: &'a str,
    pub(crate) account: &'a str,
    pub(crate) kind: ResourceKind,
    pub(crate) id: &'a str,
}

fn is_region(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_account(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `[a-zA-Z0-9-]+`: the resource part the model's ARN patterns allow.
pub(crate) fn is_resource_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Parses `arn:aws:ivschat:[a-z0-9-]+:[0-9]+:(room|logging-configuration)/[a-zA-Z0-9-]+`.
pub(crate) fn parse(s: &str) -> Option<Arn<'_>> {
    let rest = s.strip_prefix("arn:aws:ivschat:")?;
    let mut parts = rest.splitn(3, ':');
    let region = parts.next()?;
    let account = parts.next()?;
    let resource = parts.next()?;
    let (segment, id) = resource.split_once('/')?;
    let kind = match segment {
        "room" => ResourceKind::Room,
        "logging-configuration" => ResourceKind::LoggingConfiguration,
        _ => return None,
    };
    (is_region(region) && is_account(account) && is_resource_id(id)).then_some(Arn { region, account, kind, id })
}

/// Whether `s` is an identifier of `kind`: its ARN, or a bare id `[a-zA-Z0-9-]+`.
pub(crate) fn is_identifier(s: &str, kind: ResourceKind) -> bool {
    match parse(s) {
        Some(arn) => arn.kind == kind,
        None => is_resource_id(s),
    }
}

/// The id an identifier names, and whether it lies in this region and account (an ARN elsewhere names a
/// resource that cannot exist here). `None` if `s` is not an identifier of `kind`.
pub(crate) fn resolve<'a>(s: &'a str, kind: ResourceKind, region: &str, account: &str) -> Option<(&'a str, bool)> {
    match parse(s) {
        Some(arn) if arn.kind == kind => Some((arn.id, arn.region == region && arn.account == account)),
        Some(_) => None,
        None => is_resource_id(s).then_some((s, true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns() {
        let arn = format("us-west-2", "123456789012", ResourceKind::Room, "g1H2I3j4k5L6");
        assert_eq!(arn, "arn:aws:ivschat:us-west-2:123456789012:room/g1H2I3j4k5L6");
        assert_eq!(
            parse(&arn),
            Some(Arn { region: "us-west-2", account: "123456789012", kind: ResourceKind::Room, id: "g1H2I3j4k5L6" })
        );
        let lc = "arn:aws:ivschat:us-west-2:1:logging-configuration/ABcdef34ghIJ";
        assert_eq!(parse(lc).map(|a| a.kind), Some(ResourceKind::LoggingConfiguration));
        for bad in [
            "",
            "arn:aws:ivschat:US-west-2:1:room/a",
            "arn:aws:ivschat:us-west-2:x:room/a",
            "arn:aws:ivschat:us-west-2:1:channel/a",
            "arn:aws:ivschat:us-west-2:1:room/",
            "arn:aws:ivschat:us-west-2:1:room/a/b",
            "arn:aws:ivs:us-west-2:1:room/a",
            "arn:aws:ivschat::1:room/a",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert!(is_identifier("g1H2I3j4k5L6", ResourceKind::Room));
        assert!(is_identifier(&arn, ResourceKind::Room));
        assert!(!is_identifier(&arn, ResourceKind::LoggingConfiguration));
        assert!(!is_identifier("not an id", ResourceKind::Room));
        assert_eq!(resolve(&arn, ResourceKind::Room, "us-west-2", "123456789012"), Some(("g1H2I3j4k5L6", true)));
        assert_eq!(resolve(&arn, ResourceKind::Room, "eu-west-1", "123456789012"), Some(("g1H2I3j4k5L6", false)));
        assert_eq!(resolve("abc", ResourceKind::Room, "eu-west-1", "1"), Some(("abc", true)));
        assert_eq!(resolve(lc, ResourceKind::Room, "us-west-2", "1"), None);
    }
}
