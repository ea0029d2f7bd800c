//! libFuzzer entry of the `chat_frame` target (`fuzz::targets::chat_frame`); built by `.ci/fuzz` only.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::targets::chat_frame(data));
