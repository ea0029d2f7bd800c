//! libFuzzer entry of the `websocket` target (`fuzz::targets::websocket`); built by `.ci/fuzz` only.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::targets::websocket(data));
