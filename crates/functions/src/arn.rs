//! Which function a reference names: a Lambda function ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME`, with an
//! alias or version), the API Gateway form integrations use
//! (`arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/{ARN}/invocations`), a partial ARN
//! (`ACCOUNT:function:NAME`) or a bare name (`NAME`, `NAME:QUALIFIER`), as the Invoke API's `FunctionName` takes them.

/// A function named by a reference, with the qualifier (alias or version) it asked for, and the region and account
/// a full or partial ARN named (which a remote function is called in).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionRef {
    pub name: String,
    pub qualifier: Option<String>,
    pub region: Option<String>,
    pub account: Option<String>,
}

impl FunctionRef {
    /// The function an integration URI names: a Lambda function ARN or the API Gateway `…:lambda:path/…` form;
    /// `None` for anything else (an `http(s)://` URL).
    pub fn from_integration_uri(uri: &str) -> Option<FunctionRef> {
        let arn = apigateway_form(uri).unwrap_or(uri);
        let rest = strip_partition(arn)?.strip_prefix("lambda:")?;
        // REGION:ACCOUNT:function:NAME[:QUALIFIER]
        let mut fields = rest.splitn(3, ':');
        let (region, account, tail) = (fields.next()?, fields.next()?, fields.next()?);
        let mut function = FunctionRef::of_tail(tail.strip_prefix("function:")?)?;
        function.region = Some(region.to_owned()).filter(|r| !r.is_empty());
        function.account = Some(account.to_owned()).filter(|a| !a.is_empty());
        Some(function)
    }

    /// Any form the Invoke API's `FunctionName` accepts: a full or partial ARN, or a name with an optional
    /// `:QUALIFIER`.
    pub fn parse(reference: &str) -> Option<FunctionRef> {
        if reference.starts_with("arn:") {
            return FunctionRef::from_integration_uri(reference);
        }
        if let Some((account, tail)) = reference.split_once(":function:") {
            let mut function = FunctionRef::of_tail(tail)?;
            function.account = Some(account.to_owned());
            return Some(function);
        }
        FunctionRef::of_tail(reference)
    }

    /// `NAME[:QUALIFIER]`.
    fn of_tail(tail: &str) -> Option<FunctionRef> {
        let (name, qualifier) = match tail.split_once(':') {
            Some((name, qualifier)) => (name, Some(qualifier)),
            None => (tail, None),
        };
        let name_ok =
            (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let qualifier_ok = qualifier.is_none_or(|q| {
            (1..=128).contains(&q.len()) && q.bytes().all(|b| b.is_ascii_alphanumeric() || b"$-_".contains(&b))
        });
        (name_ok && qualifier_ok).then(|| FunctionRef {
            name: name.to_owned(),
            qualifier: qualifier.map(str::to_owned),
            region: None,
            account: None,
        })
    }

    /// The ARN an invocation through this reference was made with, as `Lambda-Runtime-Invoked-Function-Arn` shows
    /// it (the qualifier included).
    pub fn invoked_arn(&self, region: &str, account: &str) -> String {
        let base = function_arn(region, account, &self.name);
        match &self.qualifier {
            Some(qualifier) => format!("{base}:{qualifier}"),
            None => base,
        }
    }
}

/// A function's unqualified ARN.
pub fn function_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:lambda:{region}:{account}:function:{name}")
}

/// The integration URI an integration with `function` uses in API Gateway's form.
pub fn integration_uri(region: &str, account: &str, name: &str) -> String {
    let arn = function_arn(region, account, name);
    format!("arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations")
}

/// `arn:aws…:apigateway:REGION:lambda:path/2015-03-31/functions/{ARN}/invocations` → `{ARN}`.
fn apigateway_form(uri: &str) -> Option<&str> {
    let rest = strip_partition(uri)?.strip_prefix("apigateway:")?;
    let (_region, rest) = rest.split_once(':')?;
    let rest = rest.strip_prefix("lambda:path/")?;
    let (_version, rest) = rest.split_once("/functions/")?;
    rest.strip_suffix("/invocations")
}

/// `arn:PARTITION:` → the rest, for the partitions Lambda has (`aws`, `aws-cn`, `aws-us-gov`, …).
fn strip_partition(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:")?;
    let (partition, rest) = rest.split_once(':')?;
    (partition == "aws" || partition.starts_with("aws-")).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str, qualifier: Option<&str>) -> Option<FunctionRef> {
        Some(FunctionRef {
            name: name.to_owned(),
            qualifier: qualifier.map(str::to_owned),
            region: None,
            account: None,
        })
    }

    /// `named`, with the region and account of the ARN it came from.
    fn in_account(name: &str, qualifier: Option<&str>, region: &str, account: &str) -> Option<FunctionRef> {
        named(name, qualifier).map(|f| FunctionRef { region: Some(region.into()), account: Some(account.into()), ..f })
    }

    #[test]
    fn integration_uris_name_their_function() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:onconnect";
        let ours = |qualifier| in_account("onconnect", qualifier, "us-east-1", "123456789012");
        for (uri, expected) in [
            (arn.to_owned(), ours(None)),
            (format!("{arn}:live"), ours(Some("live"))),
            (format!("{arn}:$LATEST"), ours(Some("$LATEST"))),
            (format!("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations"), ours(None)),
            (
                format!("arn:aws-cn:apigateway:cn-north-1:lambda:path/2015-03-31/functions/{arn}:7/invocations"),
                ours(Some("7")),
            ),
            ("http://127.0.0.1:3000/".to_owned(), None),
            ("arn:aws:lambda:us-east-1:123456789012:layer:x".to_owned(), None),
            ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions//invocations".to_owned(), None),
            ("arn:aws:lambda:us-east-1:123456789012:function:bad name".to_owned(), None),
            ("arn:other:lambda:us-east-1:1:function:f".to_owned(), None),
        ] {
            assert_eq!(FunctionRef::from_integration_uri(&uri), expected, "{uri}");
        }
        assert_eq!(FunctionRef::parse("onconnect"), named("onconnect", None));
        assert_eq!(FunctionRef::parse("onconnect:2"), named("onconnect", Some("2")));
        let partial = named("onconnect", None).map(|f| FunctionRef { account: Some("123456789012".into()), ..f });
        assert_eq!(FunctionRef::parse("123456789012:function:onconnect"), partial);
        assert_eq!(FunctionRef::parse(arn), ours(None));
        assert_eq!(FunctionRef::parse(""), None);
        let live = named("f", Some("live")).unwrap();
        assert_eq!(
            live.invoked_arn("eu-west-1", "000000000000"),
            "arn:aws:lambda:eu-west-1:000000000000:function:f:live"
        );
        assert_eq!(
            FunctionRef::from_integration_uri(&integration_uri("us-east-1", "000000000000", "f")),
            in_account("f", None, "us-east-1", "000000000000")
        );
    }
}
