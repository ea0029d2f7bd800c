//! `help` pages, laid out like the AWS CLI's: the service page lists the commands; an operation page has the
//! description, synopsis, options (with shorthand and JSON syntax for maps, structures and lists), global
//! options, examples, output members and exit statuses, all from the tables of [`super::model`].

use super::model::{Example, Kind, Member, MemberExt, Operation, Service, Shape, ShapeExt, examples, printed_output};

const WIDTH: usize = 79;

/// No line of a page is longer (the AWS CLI's pages wrap long syntax lines at the terminal's width).
const MAX_LINE: usize = 120;

const SECTION: usize = 7;

const GLOBAL_OPTIONS: &[(&str, &str, &str)] = &[
    (
        "--debug",
        "boolean",
        "Turn on debug logging: where the endpoint, region and credentials come from, and every request and response \
         (signatures, never secrets), on stderr.",
    ),
    (
        "--endpoint-url",
        "string",
        "Override the endpoint URL. Without it: AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the profile's \
         [services] section or endpoint_url, else the local Switchboard server (http:// and SWITCHBOARD_LISTEN, by \
         default 127.0.0.1:4510). For the management API, give the URL of the stage (http://127.0.0.1:4510/prod); \
         the local default uses the stage-less /@connections path.",
    ),
    (
        "--output",
        "string",
        "The formatting style for command output: json (the default), text or yaml. Also AWS_DEFAULT_OUTPUT or the \
         profile's output.",
    ),
    ("--query", "string", "A JMESPath query to use in filtering the response data."),
    ("--profile", "string", "Use a specific profile from your credential file (also AWS_PROFILE)."),
    (
        "--region",
        "string",
        "The region to sign requests for (also AWS_REGION, AWS_DEFAULT_REGION or the profile's region; a local \
         server needs none and gets us-east-1).",
    ),
    (
        "--cli-binary-format",
        "string",
        "How text given for blob parameters is read: raw-in-base64-out (the default: sent as written) or base64 \
         (decoded, the AWS CLI v2's default). Also the profile's cli_binary_format.",
    ),
    ("--cli-read-timeout", "int", "The maximum socket read time in seconds (60 by default; 0 waits forever)."),
    ("--cli-connect-timeout", "int", "The maximum socket connect time in seconds (60 by default; 0 waits forever)."),
    (
        "--no-paginate",
        "boolean",
        "Disable automatic pagination: a paginated command makes one call and shows the service's own token.",
    ),
];

/// The options of a command whose operation has a paginator, as the AWS CLI documents them.
const PAGING_OPTIONS: &[(&str, &str, &str)] = &[
    (
        "--starting-token",
        "string",
        "A token to specify where to start paginating: the NextToken of a previously truncated answer.",
    ),
    (
        "--page-size",
        "integer",
        "The size of each page to get in the service call. This does not affect the number of items returned in \
         the command's output; a smaller page size makes more calls, each retrieving fewer items.",
    ),
    (
        "--max-items",
        "integer",
        "The total number of items to return in the command's output. If more are available, the output has a \
         NextToken, which --starting-token takes to resume.",
    ),
];

const EXIT_STATUS: &str = "0 on success. 252 when the command line cannot be parsed or the parameters are invalid. \
    253 when the configuration is incomplete (no region, no credentials, an unknown profile). 254 when the service \
    answered with an error (the message names its type and the operation). 255 for anything else, such as an \
    endpoint that cannot be reached or blob text that is not base64.";

/// The members a command documents: all but the token and page size of a paginated operation, which the paging
/// options stand for (they still work, and turn automatic pagination off, as in the AWS CLI).
fn shown_members(operation: &Operation) -> impl Iterator<Item = &Member> {
    let paginator = operation.paginator;
    operation.input_members().iter().filter(move |m| {
        paginator.is_none_or(|p| m.name != p.input_token && Some(m.name) != p.limit_key)
            && !paging_options(operation).any(|(name, _, _)| m.is_spelled(&name[2..]))
    })
}

fn paging_options(operation: &Operation) -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    PAGING_OPTIONS.iter().filter(move |(name, _, _)| crate::paginate::is_paging_option(operation, &name[2..]))
}

/// `switchboard <service> help`.
pub(crate) fn service_page(service: &Service) -> String {
    let mut out = String::new();
    section(&mut out, "NAME");
    line(&mut out, SECTION, &format!("{} -", service.name));
    section(&mut out, "DESCRIPTION");
    paragraphs(&mut out, SECTION, service.doc);
    section(&mut out, "AVAILABLE COMMANDS");
    for operation in service.operations {
        line(&mut out, SECTION, &format!("o {}", operation.cli_name));
        out.push('\n');
    }
    if let Some(extension) = service.extension {
        section(&mut out, "SWITCHBOARD EXTENSIONS");
        paragraphs(&mut out, SECTION, extension.doc);
        for operation in extension.operations {
            line(&mut out, SECTION, &format!("o {}", operation.cli_name));
            out.push('\n');
        }
    }
    line(&mut out, SECTION, "o help");
    section(&mut out, "SEE ALSO");
    let sample = service.operations.iter().flat_map(|op| op.input_members()).next();
    let spelling = sample.map_or_else(String::new, |m| {
        let mut camel = m.name.to_owned();
        if let Some(first) = camel.get_mut(..1) {
            first.make_ascii_lowercase();
        }
        format!(" ({} or --{camel})", m.option())
    });
    paragraphs(
        &mut out,
        SECTION,
        &format!(
            "switchboard {} <command> help shows the documentation of a command. Every command takes the AWS \
             CLI's options in kebab case and, as a convenience, in the model's camelCase spelling{spelling}.",
            service.name
        ),
    );
    out
}

/// `switchboard <service> <command> help`.
pub(crate) fn operation_page(service: &Service, operation: &Operation) -> String {
    let mut out = String::new();
    section(&mut out, "NAME");
    line(&mut out, SECTION, &format!("{} -", operation.cli_name));
    section(&mut out, "DESCRIPTION");
    paragraphs(&mut out, SECTION, operation.doc);
    out.push('\n');
    line(&mut out, SECTION, &format!("See also: AWS API Documentation ({} {})", service.name, operation.name));

    section(&mut out, "SYNOPSIS");
    line(&mut out, SECTION + 5, operation.cli_name);
    for member in shown_members(operation) {
        let option = format!("{} <value>", member.option());
        line(&mut out, SECTION + 3, &if member.required { option } else { format!("[{option}]") });
    }
    for (name, _, _) in paging_options(operation) {
        line(&mut out, SECTION + 3, &format!("[{name} <value>]"));
    }
    line(&mut out, SECTION + 3, "[--cli-input-json | --cli-input-yaml]");
    line(&mut out, SECTION + 3, "[--generate-cli-skeleton <value>]");
    if crate::args::takes_outfile(operation) {
        line(&mut out, SECTION + 3, "<outfile>");
    }
    for (name, kind, _) in GLOBAL_OPTIONS {
        line(
            &mut out,
            SECTION + 3,
            &if *kind == "boolean" { format!("[{name}]") } else { format!("[{name} <value>]") },
        );
    }

    section(&mut out, "OPTIONS");
    for member in shown_members(operation) {
        option(&mut out, member);
    }
    for (name, kind, doc) in paging_options(operation) {
        line(&mut out, SECTION, &format!("{name} ({kind})"));
        paragraphs(&mut out, SECTION + 3, doc);
        out.push('\n');
    }
    if crate::args::takes_outfile(operation) {
        line(&mut out, SECTION, "outfile (string)");
        paragraphs(&mut out, SECTION + 3, "Filename where the content (the answer's Payload) will be saved.");
        out.push('\n');
    }
    line(&mut out, SECTION, "--cli-input-json | --cli-input-yaml (string)");
    paragraphs(
        &mut out,
        SECTION + 3,
        "Reads arguments from the JSON string provided (or YAML with --cli-input-yaml; file://PATH reads a file). \
         The JSON string follows the format provided by --generate-cli-skeleton. If other arguments are provided on \
         the command line, those values will override the JSON-provided values. Blob values are text (base64 with \
         --cli-binary-format base64; YAML's !!binary for raw bytes). This may not be specified along with the \
         other one.",
    );
    out.push('\n');
    line(&mut out, SECTION, "--generate-cli-skeleton (string)");
    paragraphs(
        &mut out,
        SECTION + 3,
        "Prints a JSON skeleton to standard output without sending an API request. If provided with no value or \
         the value input, prints a sample input JSON that can be used as an argument for --cli-input-json. \
         Similarly, if provided yaml-input it will print a sample input YAML that can be used with \
         --cli-input-yaml. If provided with the value output, it validates the command inputs and returns a \
         sample output JSON for that command.",
    );
    out.push('\n');
    paragraphs(
        &mut out,
        SECTION,
        "Every option can also be spelled as its model member name (--roomIdentifier for --room-identifier, \
         --connectionId for --connection-id). A map or structure value that ends with a comma continues in the \
         next word, so --attributes a=1, b=2 sets both attributes.",
    );

    section(&mut out, "GLOBAL OPTIONS");
    for (name, kind, doc) in GLOBAL_OPTIONS {
        line(&mut out, SECTION, &format!("{name} ({kind})"));
        paragraphs(&mut out, SECTION + 3, doc);
        out.push('\n');
    }

    let examples = examples(service, operation);
    if !examples.is_empty() {
        section(&mut out, "EXAMPLES");
        for example in examples {
            example_text(&mut out, example);
        }
    }

    section(&mut out, "OUTPUT");
    match printed_output(operation) {
        Some(shape) => {
            for member in shape.members() {
                describe(&mut out, SECTION, &format!("{} -> ({})", member.name, member.shape.type_name()), member);
            }
        }
        None => line(&mut out, SECTION, "None"),
    }

    section(&mut out, "EXIT STATUS");
    paragraphs(&mut out, SECTION, EXIT_STATUS);
    out
}

fn option(out: &mut String, member: &Member) {
    describe(out, SECTION, &format!("{} ({})", member.option(), member.shape.type_name()), member);
    let shape = member.shape;
    if shape.is_complex() {
        let shorthand = match shape.kind {
            Kind::List(item) => format!("{} ...", shorthand_docs(item, &mut Vec::new())),
            _ => shorthand_docs(shape, &mut Vec::new()),
        };
        line(out, SECTION, "Shorthand Syntax:");
        out.push('\n');
        for text in shorthand.lines() {
            line(out, SECTION + 3, text);
        }
        out.push('\n');
        line(out, SECTION, "JSON Syntax:");
        out.push('\n');
        for text in json_example(shape, 0).lines() {
            line(out, SECTION + 3, text);
        }
        out.push('\n');
    } else if let Kind::List(item) = shape.kind {
        line(out, SECTION, "Syntax:");
        out.push('\n');
        let value = if matches!(item.kind, Kind::Integer) { "integer" } else { "\"string\"" };
        line(out, SECTION + 3, &format!("{value} {value} ..."));
        if let Kind::Enum(values) = item.kind {
            out.push('\n');
            line(out, SECTION + 3, "Where valid values are:");
            for value in values {
                line(out, SECTION + 5, value);
            }
        }
        out.push('\n');
    }
}

/// A member's heading, documentation and nested members (`key -> (string)`, `uri -> (string)`, `(string)`).
fn describe(out: &mut String, indent: usize, heading: &str, member: &Member) {
    line(out, indent, heading);
    if !member.doc.is_empty() {
        paragraphs(out, indent + 3, member.doc);
    }
    if let Kind::Enum(values) = member.shape.kind {
        out.push('\n');
        line(out, indent + 3, "Possible values:");
        out.push('\n');
        for value in values {
            line(out, indent + 6, &format!("o {value}"));
            out.push('\n');
        }
    } else {
        out.push('\n');
    }
    nested(out, indent + 3, member.shape);
}

fn nested(out: &mut String, indent: usize, shape: &Shape) {
    match shape.kind {
        Kind::Structure(members) | Kind::Union(members) => {
            for member in members {
                describe(out, indent, &format!("{} -> ({})", member.name, member.shape.type_name()), member);
            }
        }
        Kind::Map(_, value) => {
            line(out, indent, "key -> (string)");
            out.push('\n');
            line(out, indent, &format!("value -> ({})", value.type_name()));
            out.push('\n');
            nested(out, indent + 3, value);
        }
        Kind::List(item) => {
            line(out, indent, &format!("({})", item.type_name()));
            out.push('\n');
            nested(out, indent + 3, item);
        }
        _ => {}
    }
}

/// The AWS CLI's `ShorthandDocGen`.
fn shorthand_docs(shape: &Shape, stack: &mut Vec<&'static str>) -> String {
    match shape.kind {
        Kind::Structure(members) | Kind::Union(members) => {
            let parts: Vec<String> = members
                .iter()
                .map(|member| {
                    stack.push(member.shape.name);
                    let value = shorthand_docs(member.shape, stack);
                    stack.pop();
                    format!("{}={value}", member.name)
                })
                .collect();
            if stack.is_empty() { parts.join(",") } else { format!("{{{}}}", parts.join(",")) }
        }
        Kind::List(item) => {
            stack.push(item.name);
            let element = shorthand_docs(item, stack);
            stack.pop();
            if item.is_complex() || stack.len() > 1 {
                format!("[{element},{element}]")
            } else {
                format!("{element},{element}")
            }
        }
        Kind::Map(_, value) => {
            let value = shorthand_docs(value, stack);
            let text = format!("KeyName1={value},KeyName2={value}");
            if stack.is_empty() { text } else { format!("{{{text}}}") }
        }
        _ => shape.type_name().to_owned(),
    }
}

/// The AWS CLI's JSON syntax example (two spaces per level).
fn json_example(shape: &Shape, indent: usize) -> String {
    let pad = " ".repeat(indent + 2);
    match shape.kind {
        Kind::List(item) if item.is_scalar() => format!("[{}, ...]", scalar_example(item)),
        Kind::List(item) => format!("[\n{pad}{}\n{pad}...\n{}]", json_example(item, indent + 2), " ".repeat(indent)),
        Kind::Map(_, value) => {
            let value = if value.is_scalar() { scalar_example(value) } else { json_example(value, indent + 2) };
            format!("{{\"string\": {value}\n{pad}...}}")
        }
        Kind::Structure(members) | Kind::Union(members) => {
            let items: Vec<String> = members
                .iter()
                .map(|m| {
                    let value =
                        if m.shape.is_scalar() { scalar_example(m.shape) } else { json_example(m.shape, indent + 2) };
                    format!("{pad}\"{}\": {value}", m.name)
                })
                .collect();
            format!("{{\n{}\n{}}}", items.join(",\n"), " ".repeat(indent))
        }
        _ => scalar_example(shape),
    }
}

fn scalar_example(shape: &Shape) -> String {
    match shape.kind {
        Kind::Enum(values) => values.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>().join("|"),
        Kind::String => "\"string\"".to_owned(),
        _ => shape.type_name().to_owned(),
    }
}

fn example_text(out: &mut String, example: &Example) {
    line(out, SECTION, example.title);
    out.push('\n');
    paragraphs(out, SECTION, example.text);
    out.push('\n');
    for text in example.command.lines() {
        line(out, SECTION + 3, text);
    }
    out.push('\n');
    if example.output.is_empty() {
        line(out, SECTION, "This command produces no output.");
    } else {
        line(out, SECTION, "Output:");
        out.push('\n');
        for text in example.output.lines() {
            line(out, SECTION + 3, text);
        }
    }
    out.push('\n');
}

fn section(out: &mut String, title: &str) {
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
    out.push_str(title);
    out.push('\n');
}

/// A line at `indent`; one longer than [`MAX_LINE`] (a long shorthand syntax) continues on the next lines.
fn line(out: &mut String, indent: usize, text: &str) {
    for part in fold(text, MAX_LINE.saturating_sub(indent)) {
        out.push_str(&" ".repeat(indent));
        out.push_str(part);
        out.push('\n');
    }
}

/// `text` in pieces of at most `room` characters, each cut after a `,`, `|`, `/` or `:` where there is one.
fn fold(text: &str, room: usize) -> Vec<&str> {
    let room = room.max(20);
    let mut parts = Vec::new();
    let mut rest = text;
    while rest.chars().count() > room {
        let limit = rest.char_indices().nth(room).map_or(rest.len(), |(i, _)| i);
        let cut = rest[..limit].rfind([',', '|', '/', ':']).map_or(limit, |i| i + 1);
        parts.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    parts.push(rest);
    parts
}

/// Paragraphs (separated by blank lines in the tables) wrapped to the page width; `* ` items hang.
fn paragraphs(out: &mut String, indent: usize, text: &str) {
    for (i, paragraph) in text.split("\n\n").enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let (first, rest, body) = match paragraph.strip_prefix("* ") {
            Some(body) => (format!("{}* ", " ".repeat(indent)), " ".repeat(indent + 2), body),
            None => (" ".repeat(indent), " ".repeat(indent), paragraph),
        };
        let mut current = first;
        let mut empty = true;
        for word in body.split_whitespace().flat_map(|word| fold(word, MAX_LINE.saturating_sub(indent + 2))) {
            if !empty && current.chars().count() + 1 + word.chars().count() > WIDTH {
                out.push_str(&current);
                out.push('\n');
                current = rest.clone();
                empty = true;
            }
            if !empty {
                current.push(' ');
            }
            current.push_str(word);
            empty = false;
        }
        out.push_str(&current);
        out.push('\n');
    }
}
