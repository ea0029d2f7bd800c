//! Lambda functions as Switchboard knows them: what defines one (`spec`), whichever source it comes from — a
//! template, `[[functions]]` in the config file, or flags.

pub mod spec;

pub use spec::{FunctionSpec, Runtime, SpecError};
