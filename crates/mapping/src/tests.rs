//! The engine against a table of templates and what they write, AWS's documented examples among them, and its
//! limits.

use serde_json::{Value, json};

use crate::{Inputs, MAX_LOOP_ITERATIONS, Template, TemplateError, render};

fn context() -> Value {
    json!({
        "connectionId": "L0SM9cOFvHcCIhw=", "routeKey": "send", "eventType": "MESSAGE", "stage": "prod",
        "requestTimeEpoch": 1_700_000_000_000_i64, "identity": {"sourceIp": "127.0.0.1"},
        "authorizer": {"principalId": "me", "numKey": "1"},
    })
}

fn run(template: &str, body: &str) -> Result<String, TemplateError> {
    let context = context();
    let stage_variables = json!({"url": "http://example.com", "env": "test"});
    let params = json!({"header": {"X-Token": "t"}, "querystring": {"q": "1"}, "path": {}});
    let inputs = Inputs { body, context: &context, stage_variables: &stage_variables, params: &params };
    render(template, &inputs)
}

#[test]
fn templates_write_what_velocity_and_api_gateway_write() {
    let pets = r#"[{"id": 1, "type": "dog", "price": 249.99}, {"id": 2, "type": "cat", "price": 124.99}]"#;
    let cases: &[(&str, &str, &str)] = &[
        // The WebSocket guide's request template: the connection and the whole message.
        (
            r#"{"connectionId": "$context.connectionId", "body": $input.json('$')}"#,
            r#"{"action":"send","text":"hi"}"#,
            r#"{"connectionId": "L0SM9cOFvHcCIhw=", "body": {"action":"send","text":"hi"}}"#,
        ),
        // The REST guide's pet store output template, loop and `$foreach.hasNext` included.
        (
            "#set($inputRoot = $input.path('$'))\n[\n#foreach($elem in $inputRoot)\n  {\n    \"description\" : \"Item $elem.id is a $elem.type.\",\n    \"askingPrice\" : $elem.price\n  }#if($foreach.hasNext),#end\n\n#end\n]",
            pets,
            "[\n  {\n    \"description\" : \"Item 1 is a dog.\",\n    \"askingPrice\" : 249.99\n  },\n\n  {\n    \"description\" : \"Item 2 is a cat.\",\n    \"askingPrice\" : 124.99\n  }\n\n]",
        ),
        ("$input.json('$.text')", r#"{"text":"a\"b"}"#, r#""a\"b""#),
        ("$input.path('$.n') + 1 = #set($m = $input.path('$.n') + 1)$m", r#"{"n": 41}"#, "41 + 1 = 42"),
        (
            "$input.json('$.missing')|$input.path('$.missing')|$!input.path('$.missing')",
            "{}",
            "|$input.path('$.missing')|",
        ),
        ("$input.json('$.items[*].id')", r#"{"items":[{"id":1},{"id":2}]}"#, "[1,2]"),
        ("$input.path('$.items').size() $input.path('$.items')[1].id", r#"{"items":[{"id":1},{"id":2}]}"#, "2 2"),
        ("$input.body", "not json", "not json"),
        ("$input.path('$')", "not json", "not json"),
        (
            "$input.params('X-Token') $input.params('x-token') $input.params('q') [$input.params('none')]",
            "",
            "t t 1 []",
        ),
        ("$stageVariables.env $stageVariables.url ${stageVariables.env}x", "", "test http://example.com testx"),
        (
            "$context.identity.sourceIp $context.authorizer.principalId $context.requestTimeEpoch",
            "",
            "127.0.0.1 me 1700000000000",
        ),
        ("$nothing $!nothing ${nothing} $!{nothing}.", "", "$nothing  ${nothing} ."),
        ("$util.escapeJavaScript(\"it's \"\"quoted\"\"\n/é\")", "", "it\\'s \\\"quoted\\\"\\n\\/\\u00E9"),
        ("$util.urlEncode('a b&c=d/é*') $util.urlDecode('a+b%26c')", "", "a+b%26c%3Dd%2F%C3%A9* a b&c"),
        ("$util.base64Encode('hello') $util.base64Decode('aGVsbG8=')", "", "aGVsbG8= hello"),
        ("#set($o = $util.parseJson($input.path('$.inner')))$o.a", r#"{"inner":"{\"a\":7}"}"#, "7"),
        ("#if($input.path('$.n') > 3)big#elseif($input.path('$.n') == 3)three#{else}small#end", r#"{"n":3}"#, "three"),
        ("#if($x)yes#else no#end #if(!$x && true)not#end #if($x || 1 == 1.0)or#end", "", " no not or"),
        ("#if('a' == \"a\" and 2 ge 1 and not false)words#end #if(\"1\" == 1)text#end", "", "words text"),
        (
            "#set($list = [1, 'two', true])$list $list.size() $list.get(1) $list[2] $list.contains('two')",
            "",
            "[1, two, true] 3 two true true",
        ),
        (
            "#set($m = {\"a\": 1, 'b': [2]})$m $m.a $m.get('b') $m.keySet() #set($m.c = 3)$m.size()",
            "",
            "{a=1, b=[2]} 1 [2] [a, b] 3",
        ),
        ("#foreach($i in [1..3])$i#if($foreach.hasNext),#end#end|#foreach($i in [2..0])$i#end", "", "1,2,3|210"),
        ("#foreach($v in {'a': 1, 'b': 2})$v:$foreach.index:$velocityCount #end", "", "1:0:1 2:1:2 "),
        (
            "#set($s = 'Hello')$s.length() $s.toUpperCase() $s.substring(1, 3) $s.replace('l', 'L') $s.indexOf('l')",
            "",
            "5 HELLO el HeLLo 2",
        ),
        ("#set($n = \"$context.stage-$s\")$n", "", "prod-$s"),
        ("## a comment\nkept #* a\nblock *#here", "", "kept here"),
        ("\\$context.stage \\#if \\x", "", "$context.stage #if \\x"),
        ("price: $5 and #5 and # and $", "", "price: $5 and #5 and # and $"),
        (
            "#set($a = 7 / 2)#set($b = 7.0 / 2)#set($c = 7 % 3)#set($d = -$a)$a $b $c $d #set($z = 1 / 0)$!z",
            "",
            "3 3.5 1 -3 ",
        ),
        ("  #if(true)\n  in\n  #end\nout", "", "  in\nout"),
        ("#set($x = \"#if(true)yes#end\")$x", "", "yes"),
    ];
    for (template, body, expected) in cases {
        assert_eq!(run(template, body).as_deref(), Ok(*expected), "template {template:?}");
    }
}

#[test]
fn malformed_templates_are_syntax_errors() {
    for bad in [
        "#if(true)x",
        "#end",
        "#foreach($x in [1])",
        "#set($x 1)",
        "#if(",
        "#* open",
        "#set($x = 'open)",
        "$x.f(1,",
        "#if(true)#else#else#end",
        "#foreach(x in [1])#end",
    ] {
        assert!(
            matches!(Template::parse(bad), Err(TemplateError::Syntax { .. })),
            "{bad:?}: {:?}",
            Template::parse(bad)
        );
    }
}

#[test]
fn evaluation_failures_are_errors_not_panics() {
    for (bad, body) in [
        ("$util.parseJson('{')", ""),
        ("$util.base64Decode('***')", ""),
        ("$util.urlDecode('%FF')", ""),
        ("$input.path('not a path')", "{}"),
        ("#set($s = 'ab')$s.substring(1, 5)", ""),
    ] {
        assert!(matches!(run(bad, body), Err(TemplateError::Eval(_))), "{bad:?}: {:?}", run(bad, body));
    }
}

#[test]
fn limits_stop_templates_that_would_loop_grow_or_nest_without_end() {
    let limited = |template: &str| matches!(run(template, "{}"), Err(TemplateError::Limit(_)));
    let too_many = format!("#foreach($i in [0..{}])#end", MAX_LOOP_ITERATIONS);
    assert!(limited(&too_many), "a range past the loop limit");
    let list = format!("[{}]", vec!["1"; MAX_LOOP_ITERATIONS + 1].join(","));
    assert!(limited(&format!("#foreach($i in {list})#end")), "a list past the loop limit");
    assert_eq!(run(&format!("#foreach($i in [1..{MAX_LOOP_ITERATIONS}])#end"), "").as_deref(), Ok(""));
    // Doubling a string: the work or output limit stops it.
    assert!(limited("#set($s = 'xxxxxxxxxxxxxxxx')#foreach($i in [1..40])#set($s = \"$s$s\")#end$s"));
    // Nested loops: 1000 × 1000 × 1000 iterations stop at the step limit.
    assert!(limited("#foreach($a in [1..1000])#foreach($b in [1..1000])#foreach($c in [1..1000])#end#end#end"));
    // Values nesting ever deeper, and lists of one big string.
    assert!(limited("#set($l = [])#foreach($i in [1..1000])#set($l = [$l])#end"));
    assert!(limited("#set($m = {})#foreach($i in [1..1000])#set($m.x = $m)#end"));
    let wide = format!("#set($s = \"{}\")#set($l = [{}])", "x".repeat(1 << 20), vec!["$s"; 100].join(","));
    assert!(limited(&wide));
    // Deep nesting in the source.
    assert!(limited(&format!("{}1{}", "#if(true)".repeat(100), "#end".repeat(100))));
    assert!(limited(&format!("#set($x = {}1{})", "(".repeat(200), ")".repeat(200))));
    assert!(matches!(Template::parse(&"x".repeat(crate::MAX_TEMPLATE_BYTES + 1)), Err(TemplateError::Limit(_))));
}
