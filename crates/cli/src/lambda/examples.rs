//! The examples of the `switchboard lambda` help pages, after the AWS CLI's own.

use aws_models::lambda::Operation;

use crate::model::Example;

/// The examples of `operation`'s help page (the operations Switchboard serves have some).
pub(crate) fn of(operation: Operation) -> &'static [Example] {
    match operation {
        Operation::Invoke => INVOKE,
        Operation::GetFunction => GET_FUNCTION,
        Operation::ListFunctions => LIST_FUNCTIONS,
        _ => &[],
    }
}

static INVOKE: &[Example] = &[
    Example {
        title: "To invoke a function synchronously",
        text: "The following invoke example runs the hosted function my-function with a JSON payload and writes its \
               answer to response.json. --payload is sent as written (use --cli-binary-format base64 for the AWS \
               CLI v2 behaviour).",
        command: "switchboard lambda invoke \\\n    --function-name my-function \\\n    --payload '{ \"name\": \"Bob\" }' \
                  \\\n    response.json",
        output: "{\n    \"StatusCode\": 200,\n    \"ExecutedVersion\": \"$LATEST\"\n}",
    },
    Example {
        title: "To invoke a function asynchronously",
        text: "The following invoke example queues an event for my-function and returns at once.",
        command: "switchboard lambda invoke \\\n    --function-name my-function \\\n    --invocation-type Event \\\n    \
                  --payload '{ \"name\": \"Bob\" }' \\\n    response.json",
        output: "{\n    \"StatusCode\": 202\n}",
    },
];

static GET_FUNCTION: &[Example] = &[Example {
    title: "To describe a function",
    text: "The following get-function example shows how a hosted function is defined.",
    command: "switchboard lambda get-function --function-name my-function",
    output: "",
}];

static LIST_FUNCTIONS: &[Example] = &[Example {
    title: "To list the hosted functions",
    text: "The following list-functions example lists the functions this server hosts.",
    command: "switchboard lambda list-functions",
    output: "",
}];
