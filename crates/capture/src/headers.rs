//! [`Headers`]: a handshake's headers as an `opened` event keeps them, names and values in one buffer.

use serde::ser::{Serialize, SerializeSeq, Serializer};

/// A list of header names and values held in two allocations (the text, and where each name and value ends), rather
/// than a vector and two strings per header: the capture keeps one list per connection opened, up to its
/// [`crate::Limits::max_events`]. Serialized as `[[name, value], …]`, as a list of pairs is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    text: Box<str>,
    /// The end in `text` of each name, then of its value.
    ends: Box<[u32]>,
}

impl Headers {
    /// The pairs in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.ends.chunks_exact(2).scan(0, |start, ends| {
            let (name_end, value_end) = (ends[0] as usize, ends[1] as usize);
            let pair = (&self.text[*start..name_end], &self.text[name_end..value_end]);
            *start = value_end;
            Some(pair)
        })
    }

    pub fn len(&self) -> usize {
        self.ends.len() / 2
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes of names and values.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }
}

impl<N: AsRef<str>, V: AsRef<str>> FromIterator<(N, V)> for Headers {
    /// Pairs beyond 4 GiB of text in all are left out (a handshake's head is bounded far below that).
    fn from_iter<I: IntoIterator<Item = (N, V)>>(pairs: I) -> Headers {
        let mut text = String::new();
        let mut ends = Vec::new();
        for (name, value) in pairs {
            let (name, value) = (name.as_ref(), value.as_ref());
            let (Ok(name_end), Ok(value_end)) =
                (u32::try_from(text.len() + name.len()), u32::try_from(text.len() + name.len() + value.len()))
            else {
                break;
            };
            text.push_str(name);
            text.push_str(value);
            ends.extend([name_end, value_end]);
        }
        Headers { text: text.into_boxed_str(), ends: ends.into_boxed_slice() }
    }
}

impl Serialize for Headers {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for pair in self.iter() {
            seq.serialize_element(&pair)?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::Headers;

    #[test]
    fn pairs_come_back_in_order_and_serialize_as_a_list_of_pairs() {
        let pairs = [("Host", "example.com"), ("", ""), ("X-Empty", ""), ("User-Agent", "ws/1 ü")];
        let headers: Headers = pairs.into_iter().collect();
        assert_eq!(headers.iter().collect::<Vec<_>>(), pairs);
        assert_eq!(headers.len(), 4);
        assert_eq!(headers.text_len(), pairs.iter().map(|(n, v)| n.len() + v.len()).sum::<usize>());
        let owned: Vec<(String, String)> = pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        assert_eq!(serde_json::to_value(&headers).unwrap(), serde_json::to_value(&owned).unwrap());
        let none: Headers = std::iter::empty::<(&str, &str)>().collect();
        assert!(none.is_empty());
        assert_eq!(serde_json::to_string(&none).unwrap(), "[]");
    }
}
