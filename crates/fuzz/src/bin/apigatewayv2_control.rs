//! libFuzzer entry of the `apigatewayv2_control` target (`fuzz::targets::apigatewayv2_control`); built by `.ci/fuzz` only.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz::targets::apigatewayv2_control(data));
