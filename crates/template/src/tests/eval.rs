//! Table tests of the pieces: short forms, intrinsics, parameters, conditions, ordering, globals.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::error::At;
use crate::eval::{self, Resolved, Scope};
use crate::params::{self, Pseudo};
use crate::{function, graph, parse};

fn pseudo() -> Pseudo {
    Pseudo::new("eu-west-1", "123456789012", "chat")
}

/// Evaluates `value` in a scope with parameters `Name=alice`, `Ports=[80,443]`, a mapping, conditions `Yes` and
/// `No`, resource `Api` (id `abc123`, ApiEndpoint) and resource `Off` skipped by condition `No`.
fn eval(value: Value) -> Result<Option<Value>, String> {
    let pseudo = pseudo();
    let parameters = BTreeMap::from([("Name".to_owned(), json!("alice")), ("Ports".to_owned(), json!(["80", "443"]))]);
    let mappings = json!({"Sizes": {"eu-west-1": {"Memory": 256}}});
    let conditions = BTreeMap::from([("Yes".to_owned(), true), ("No".to_owned(), false)]);
    let resources = BTreeMap::from([(
        "Api".to_owned(),
        Resolved {
            reference: json!("abc123"),
            attributes: BTreeMap::from([("ApiEndpoint".to_owned(), json!("ws://127.0.0.1:1/@apis/abc123"))]),
            fallback: None,
        },
    )]);
    let skipped = BTreeMap::from([("Off".to_owned(), "No".to_owned())]);
    let scope = Scope {
        pseudo: &pseudo,
        parameters: &parameters,
        mappings: mappings.as_object().unwrap(),
        conditions: &conditions,
        resources: &resources,
        skipped: &skipped,
    };
    let at = At::root("resource R (T)");
    scope
        .eval(&json!({ "Prop": value }), &at)
        .map(|v| v.and_then(|v| v.get("Prop").cloned()))
        .map_err(|e| e.to_string())
}

#[test]
fn yaml_short_forms_become_long_forms() {
    let text = "A: !Ref X\nB: !GetAtt Fn.Arn\nC: !Sub 'x${Y}'\nD: !Join [',', [a, b]]\nE: !If [Cond, 1, 2]\n\
                F: !Equals [a, b]\nG: !Select [0, !Split [',', 'a,b']]\nH: !FindInMap [M, K, V]\nI: !Base64 hi\n\
                J: !Condition C\nK: !GetAtt [Fn, Arn]\nL: !GetAZs ''\nM: !Not [!Condition C]\n";
    let value = parse::parse(text).unwrap();
    assert_eq!(
        value,
        json!({
            "A": {"Ref": "X"},
            "B": {"Fn::GetAtt": ["Fn", "Arn"]},
            "C": {"Fn::Sub": "x${Y}"},
            "D": {"Fn::Join": [",", ["a", "b"]]},
            "E": {"Fn::If": ["Cond", 1, 2]},
            "F": {"Fn::Equals": ["a", "b"]},
            "G": {"Fn::Select": [0, {"Fn::Split": [",", "a,b"]}]},
            "H": {"Fn::FindInMap": ["M", "K", "V"]},
            "I": {"Fn::Base64": "hi"},
            "J": {"Condition": "C"},
            "K": {"Fn::GetAtt": ["Fn", "Arn"]},
            "L": {"Fn::GetAZs": ""},
            "M": {"Fn::Not": [{"Condition": "C"}]},
        })
    );
    for (text, message) in [
        ("A: !Bogus x\n", "unknown tag !Bogus"),
        ("A: !GetAtt NoDot\n", "must name Resource.Attribute"),
        ("A: [1\n", "is not valid YAML"),
        ("{\"A\": ", "is not valid JSON"),
    ] {
        let err = parse::parse(text).unwrap_err();
        assert!(err.contains(message), "{text:?}: {err}");
    }
    assert_eq!(parse::parse("{\"A\": {\"Ref\": \"X\"}}").unwrap(), json!({"A": {"Ref": "X"}}));
}

#[test]
fn each_intrinsic_evaluates() {
    let cases = [
        (json!({"Ref": "Name"}), json!("alice")),
        (json!({"Ref": "Ports"}), json!(["80", "443"])),
        (json!({"Ref": "AWS::Region"}), json!("eu-west-1")),
        (json!({"Ref": "AWS::AccountId"}), json!("123456789012")),
        (json!({"Ref": "AWS::StackName"}), json!("chat")),
        (json!({"Ref": "AWS::Partition"}), json!("aws")),
        (json!({"Ref": "AWS::URLSuffix"}), json!("amazonaws.com")),
        (json!({"Ref": "AWS::NotificationARNs"}), json!([])),
        (json!({"Ref": "Api"}), json!("abc123")),
        (json!({"Fn::GetAtt": ["Api", "ApiEndpoint"]}), json!("ws://127.0.0.1:1/@apis/abc123")),
        (json!({"Fn::GetAtt": "Api.ApiEndpoint"}), json!("ws://127.0.0.1:1/@apis/abc123")),
        (
            json!({"Fn::Sub": "wss://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/prod"}),
            json!("wss://abc123.execute-api.eu-west-1.amazonaws.com/prod"),
        ),
        (json!({"Fn::Sub": "${Api.ApiEndpoint}/x"}), json!("ws://127.0.0.1:1/@apis/abc123/x")),
        (json!({"Fn::Sub": ["${Greeting}, ${Name}", {"Greeting": "hello"}]}), json!("hello, alice")),
        (json!({"Fn::Sub": ["${Name}", {"Name": {"Ref": "AWS::Region"}}]}), json!("eu-west-1")),
        (json!({"Fn::Sub": "${!Literal} and ${ Name }"}), json!("${Literal} and alice")),
        (json!({"Fn::Sub": "no variables, $ and { alone"}), json!("no variables, $ and { alone")),
        (json!({"Fn::Join": ["/", ["integrations", {"Ref": "Api"}]]}), json!("integrations/abc123")),
        (json!({"Fn::Join": [",", {"Ref": "Ports"}]}), json!("80,443")),
        (json!({"Fn::Join": ["", ["a", {"Ref": "AWS::NoValue"}, "b"]]}), json!("ab")),
        (json!({"Fn::Select": ["1", {"Ref": "Ports"}]}), json!("443")),
        (json!({"Fn::Select": [0, {"Fn::Split": ["|", "x|y"]}]}), json!("x")),
        (json!({"Fn::Split": [",", "a,,b"]}), json!(["a", "", "b"])),
        (json!({"Fn::If": ["Yes", "then", "else"]}), json!("then")),
        (json!({"Fn::If": ["No", "then", {"Ref": "Name"}]}), json!("alice")),
        // The branch not taken is not evaluated, so it may name what does not exist.
        (json!({"Fn::If": ["Yes", "kept", {"Ref": "Off"}]}), json!("kept")),
        (json!({"Fn::Equals": [{"Ref": "Name"}, "alice"]}), json!(true)),
        (json!({"Fn::Equals": ["1", 1]}), json!(true)),
        (json!({"Fn::Not": [{"Fn::Equals": ["a", "b"]}]}), json!(true)),
        (json!({"Fn::And": [{"Condition": "Yes"}, {"Condition": "No"}]}), json!(false)),
        (json!({"Fn::Or": [{"Condition": "Yes"}, {"Condition": "No"}]}), json!(true)),
        (json!({"Fn::FindInMap": ["Sizes", {"Ref": "AWS::Region"}, "Memory"]}), json!(256)),
        (json!({"Fn::FindInMap": ["Sizes", "nowhere", "Memory", {"DefaultValue": 128}]}), json!(128)),
        (json!({"Fn::Base64": "hi"}), json!("aGk=")),
        (json!({"Fn::GetAZs": ""}), json!(["eu-west-1a", "eu-west-1b", "eu-west-1c"])),
        (json!({"Fn::ToJsonString": {"a": [1]}}), json!("{\"a\":[1]}")),
        (json!({"Fn::Length": {"Ref": "Ports"}}), json!(2)),
        (json!({"Condition": {"StringEquals": {"x": "y"}}}), json!({"Condition": {"StringEquals": {"x": "y"}}})),
        (json!([1, {"Ref": "AWS::NoValue"}, 2]), json!([1, 2])),
    ];
    for (input, expected) in cases {
        let got = eval(input.clone()).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(got.unwrap_or(Value::Null), expected, "{input}");
    }
    assert_eq!(eval(json!({"Ref": "AWS::NoValue"})).unwrap(), None, "AWS::NoValue removes the property");
}

#[test]
fn each_intrinsic_error_names_the_resource_the_property_and_the_problem() {
    let cases = [
        (
            json!({"Ref": "Missing"}),
            "Ref: `Missing` is not a parameter, a pseudo parameter or a resource of this template",
        ),
        (json!({"Ref": "Off"}), "resource Off is not created, as its condition No is false"),
        (json!({"Ref": ["list"]}), "Ref takes the name of a parameter or resource"),
        (json!({"Fn::GetAtt": ["Missing", "Arn"]}), "Fn::GetAtt Missing.Arn: `Missing` is not a parameter"),
        (json!({"Fn::GetAtt": ["Api", "Arn"]}), "Api has no attribute Arn (it has: ApiEndpoint)"),
        (json!({"Fn::GetAtt": "NoDot"}), "must name Resource.Attribute"),
        (json!({"Fn::GetAtt": ["Api", {"Ref": "AWS::NoValue"}]}), "Fn::GetAtt: AWS::NoValue cannot be used here"),
        (json!({"Fn::Join": [",", [{"Ref": "Missing"}]]}), "property Prop: Ref: `Missing`"),
        (json!({"Fn::Sub": "${Missing}"}), "`Missing` is not a parameter"),
        (json!({"Fn::Sub": "${Ports}"}), "${Ports} is [\"80\",\"443\"], which is not a string"),
        (json!({"Fn::Sub": ["x", "not a map"]}), "Fn::Sub variables must be a mapping"),
        (json!({"Fn::Join": [",", "not a list"]}), "Fn::Join: expected a list"),
        (json!({"Fn::Join": [",", [{"a": 1}]]}), "cannot join {\"a\":1}"),
        (json!({"Fn::Join": [","]}), "Fn::Join takes a list of 2 arguments"),
        (json!({"Fn::Select": [5, ["a"]]}), "index 5 is out of range for a list of 1"),
        (json!({"Fn::Select": ["x", ["a"]]}), "index `x` is not a number"),
        (json!({"Fn::Split": ["", "a"]}), "the delimiter must not be empty"),
        (json!({"Fn::If": ["Unknown", 1, 2]}), "no condition named Unknown"),
        (json!({"Fn::FindInMap": ["Sizes", "nowhere", "Memory"]}), "Mappings has no Sizes / nowhere / Memory"),
        (json!({"Fn::And": [{"Condition": "Yes"}]}), "Fn::And takes 2 to 10 conditions"),
        (json!({"Fn::ImportValue": "x"}), "Fn::ImportValue is not supported"),
        (json!({"Fn::Nope": "x"}), "unknown intrinsic function Fn::Nope"),
    ];
    for (input, message) in cases {
        let err = eval(input.clone()).expect_err(&input.to_string());
        assert!(err.starts_with("resource R (T), property Prop: "), "{err}");
        assert!(err.contains(message), "{input}: {err} should say {message}");
    }
}

fn parameters(declared: Value, overrides: &[(&str, &str)]) -> Result<BTreeMap<String, Value>, String> {
    let overrides = overrides.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    params::resolve(Some(&declared), &overrides).map_err(|e| e.to_string())
}

#[test]
fn parameters_take_defaults_overrides_and_their_constraints() {
    let declared = json!({
        "TableName": {"Type": "String", "Default": "simplechat_connections", "AllowedPattern": "^[A-Za-z_]+$",
                      "MinLength": 3, "MaxLength": 50,
                      "ConstraintDescription": "Required. Can be characters and underscore only."},
        "Env": {"Type": "String", "Default": "dev", "AllowedValues": ["dev", "prod"]},
        "Size": {"Type": "Number", "Default": 128, "MinValue": 128, "MaxValue": 1024},
        "Zones": {"Type": "CommaDelimitedList", "Default": "a, b ,c"},
        "Ports": {"Type": "List<Number>", "Default": "80,443"},
        "Key": {"Type": "AWS::EC2::KeyPair::KeyName", "Default": "mine"},
    });
    let values = parameters(declared.clone(), &[]).unwrap();
    assert_eq!(values["TableName"], json!("simplechat_connections"));
    assert_eq!(values["Size"], json!("128"), "Ref to a Number is a string");
    assert_eq!(values["Zones"], json!(["a", "b", "c"]));
    assert_eq!(values["Ports"], json!(["80", "443"]));
    assert_eq!(values["Key"], json!("mine"));
    let values = parameters(declared.clone(), &[("Env", "prod"), ("TableName", "other_table")]).unwrap();
    assert_eq!((&values["Env"], &values["TableName"]), (&json!("prod"), &json!("other_table")));

    let failures: [(&[(&str, &str)], &str); 8] = [
        (&[("Env", "staging")], "parameter Env: value `staging` is not one of the AllowedValues [dev, prod]"),
        (&[("TableName", "has-dash")], "does not match the AllowedPattern ^[A-Za-z_]+$ (Required. Can be characters"),
        (&[("TableName", "ab")], "shorter than MinLength 3"),
        (&[("Size", "big")], "parameter Size: value `big` is not a number"),
        (&[("Size", "64")], "below MinValue 128"),
        (&[("Ports", "80,x")], "value `x` is not a number"),
        (&[("Nope", "1")], "parameter override Nope: the template declares no such parameter"),
        (&[("Size", "2048")], "above MaxValue 1024"),
    ];
    for (overrides, message) in failures {
        let err = parameters(declared.clone(), overrides).unwrap_err();
        assert!(err.contains(message), "{overrides:?}: {err}");
    }
    let err = parameters(json!({"Needed": {"Type": "String"}}), &[]).unwrap_err();
    assert_eq!(err, "parameter Needed: has no Default; give it with --parameter-overrides Needed=VALUE");
    let err = parameters(json!({"T": {"Type": "Strange", "Default": "x"}}), &[]).unwrap_err();
    assert!(err.contains("Type Strange is not one of"), "{err}");
}

#[test]
fn conditions_use_parameters_and_each_other_and_refuse_cycles() {
    let pseudo = pseudo();
    let parameters = BTreeMap::from([("Env".to_owned(), json!("prod"))]);
    let (mappings, none, resources, skipped) = (Map::new(), BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let scope = Scope {
        pseudo: &pseudo,
        parameters: &parameters,
        mappings: &mappings,
        conditions: &none,
        resources: &resources,
        skipped: &skipped,
    };
    let declared = json!({
        "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
        "IsIreland": {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]},
        "Both": {"Fn::And": [{"Condition": "IsProd"}, {"Condition": "IsIreland"}]},
        "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
        "Either": {"Fn::Or": [{"Condition": "NotProd"}, {"Condition": "Both"}]},
    });
    let values = eval::conditions(Some(&declared), &scope).unwrap();
    let expected = [("Both", true), ("Either", true), ("IsIreland", true), ("IsProd", true), ("NotProd", false)];
    assert_eq!(values, expected.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect());
    let cycle = json!({"A": {"Fn::Not": [{"Condition": "B"}]}, "B": {"Fn::Not": [{"Condition": "A"}]}});
    let err = eval::conditions(Some(&cycle), &scope).unwrap_err().to_string();
    assert!(err.contains("refers to itself through A → B"), "{err}");
    let unknown = json!({"A": {"Fn::Not": [{"Condition": "Nope"}]}});
    let err = eval::conditions(Some(&unknown), &scope).unwrap_err().to_string();
    assert_eq!(err, "condition A: Condition Nope: no condition of that name in Conditions");
    let resource = json!({"A": {"Fn::Equals": [{"Ref": "SomeResource"}, "x"]}});
    let err = eval::conditions(Some(&resource), &scope).unwrap_err().to_string();
    assert!(err.starts_with("condition A: Ref: `SomeResource` is not a parameter"), "{err}");
}

#[test]
fn resources_are_ordered_after_what_they_use() {
    let resources = json!({
        "Stage": {"Type": "S", "Properties": {"DeploymentId": {"Ref": "Deployment"}, "ApiId": {"Ref": "Api"}}},
        "Deployment": {"Type": "D", "DependsOn": ["Route"], "Properties": {"ApiId": {"Ref": "Api"}}},
        "Route": {"Type": "R", "Properties": {"Target": {"Fn::Join": ["/", ["integrations", {"Ref": "Integ"}]]}}},
        "Integ": {"Type": "I", "Properties": {"IntegrationUri": {"Fn::Sub": "x/${Fn.Arn}/${!Not}/${Var}"}}},
        "Fn": {"Type": "F", "Properties": {"Env": {"Fn::GetAtt": ["Table", "Arn"]}}},
        "Table": {"Type": "T"},
        "Api": {"Type": "A", "Properties": {"Name": {"Ref": "AWS::StackName"}}},
    });
    let resources = resources.as_object().unwrap();
    let deps = graph::dependencies(resources, &BTreeSet::new()).unwrap();
    let declared: Vec<String> = resources.keys().cloned().collect();
    let order = graph::order(&declared, &deps).unwrap();
    let position = |id: &str| order.iter().position(|o| o == id).unwrap();
    for (before, after) in [
        ("Api", "Stage"),
        ("Deployment", "Stage"),
        ("Route", "Deployment"),
        ("Integ", "Route"),
        ("Fn", "Integ"),
        ("Table", "Fn"),
    ] {
        assert!(position(before) < position(after), "{before} before {after}: {order:?}");
    }
    let cycle = json!({"A": {"Type": "X", "DependsOn": "B"}, "B": {"Type": "X", "Properties": {"P": {"Ref": "A"}}}});
    let deps = graph::dependencies(cycle.as_object().unwrap(), &BTreeSet::new()).unwrap();
    let err = graph::order(&["A".to_owned(), "B".to_owned()], &deps).unwrap_err().to_string();
    assert!(err.contains("cycle: A, B"), "{err}");
    let unknown = json!({"A": {"Type": "X", "DependsOn": "Ghost"}});
    let err = graph::dependencies(unknown.as_object().unwrap(), &BTreeSet::new()).unwrap_err().to_string();
    assert_eq!(err, "resource A, DependsOn: names no resource: Ghost");
}

#[test]
fn sam_globals_merge_under_each_function() {
    let globals = json!({"Runtime": "python3.12", "Timeout": 10, "Environment": {"Variables": {"A": "g", "B": "g"}}, "Layers": ["l1"]});
    let own =
        json!({"Timeout": 3, "Environment": {"Variables": {"B": "f"}}, "Layers": ["l2"], "Handler": {"Ref": "H"}});
    assert_eq!(
        function::with_globals(&globals, &own),
        json!({"Runtime": "python3.12", "Timeout": 3, "Environment": {"Variables": {"A": "g", "B": "f"}},
               "Layers": ["l1", "l2"], "Handler": {"Ref": "H"}})
    );
}

#[test]
fn overrides_and_stack_names_are_read_as_sam_does() {
    let words = ["TableName=t".to_owned(), "ParameterKey=Env,ParameterValue=a=b".to_owned()];
    let overrides = crate::parse_overrides(&words).unwrap();
    assert_eq!(overrides, BTreeMap::from([("TableName".into(), "t".into()), ("Env".into(), "a=b".into())]));
    assert!(
        crate::parse_overrides(&["novalue".to_owned()]).unwrap_err().to_string().contains("must look like Key=Value")
    );
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("my_chat app");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(project.join("template.yaml"), "").unwrap();
    assert_eq!(crate::default_stack_name(&project.join("template.yaml")), "my-chat-app");
}
