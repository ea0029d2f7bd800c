//! The one error of the template loader: where (the file, a parameter, a condition, a resource and its property, an
//! output) and what, as one line a user can act on.

/// A template that cannot be loaded or applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct Error {
    /// Where: `template FILE`, `parameter P`, `condition C`, `resource R (TYPE), property P.Q`, `output O`.
    pub at: String,
    pub message: String,
}

impl Error {
    pub(crate) fn new(at: impl Into<String>, message: impl Into<String>) -> Error {
        Error { at: at.into(), message: message.into() }
    }
}

/// A place in the template, built while descending into values, rendered only when an error names it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct At<'a> {
    parent: Option<&'a At<'a>>,
    segment: Segment<'a>,
    /// Inside an intrinsic function's arguments, which are not properties: the place stays the property's.
    frozen: bool,
}

#[derive(Clone, Copy, Debug)]
enum Segment<'a> {
    Root(&'a str),
    Key(&'a str),
    Index(usize),
}

impl<'a> At<'a> {
    /// `what` names the section item: `resource ConnectRoute (AWS::ApiGatewayV2::Route)`, `output WebSocketURI`.
    pub(crate) fn root(what: &'a str) -> At<'a> {
        At { parent: None, segment: Segment::Root(what), frozen: false }
    }

    pub(crate) fn key(&'a self, key: &'a str) -> At<'a> {
        if self.frozen {
            return *self;
        }
        At { parent: Some(self), segment: Segment::Key(key), frozen: false }
    }

    pub(crate) fn index(&'a self, index: usize) -> At<'a> {
        if self.frozen {
            return *self;
        }
        At { parent: Some(self), segment: Segment::Index(index), frozen: false }
    }

    /// This place, kept as it is for everything inside (an intrinsic function's arguments).
    pub(crate) fn frozen(&self) -> At<'a> {
        At { frozen: true, ..*self }
    }

    pub(crate) fn error(&self, message: impl Into<String>) -> Error {
        Error::new(self.to_string(), message)
    }
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut segments = Vec::new();
        let mut at = Some(self);
        while let Some(current) = at {
            segments.push(current.segment);
            at = current.parent;
        }
        segments.reverse();
        let mut first_key = true;
        for segment in segments {
            match segment {
                Segment::Root(what) => f.write_str(what)?,
                Segment::Key(key) if first_key => {
                    first_key = false;
                    write!(f, ", property {key}")?;
                }
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}
