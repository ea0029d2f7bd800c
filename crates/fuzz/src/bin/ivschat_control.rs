//! libFuzzer entry of the `ivschat_control` target (`fuzz::targets::ivschat_control`); built by `.ci/fuzz` only.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::targets::ivschat_control(data));
