//! libFuzzer entry of the `chat_token` target (`fuzz::targets::chat_token`); built by `.ci/fuzz` only.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::targets::chat_token(data));
