//! [`InlineStr`]: a short string kept inside its owner. Not a libc call, but
//! its one `unsafe` block belongs with the others here.

/// A string of at most `N` bytes (`N` ≤ 255), stored inline: a handle keeps
/// its name in one without a heap allocation per open.
#[derive(Clone, Copy)]
pub(crate) struct InlineStr<const N: usize> {
    /// How many bytes of `bytes` are the string; never more than `N`.
    len: u8,
    bytes: [u8; N],
}

impl<const N: usize> InlineStr<N> {
    /// `text`, copied in; `None` if it is longer than `N` bytes.
    #[inline]
    pub(crate) fn new(text: &str) -> Option<InlineStr<N>> {
        const { assert!(N <= u8::MAX as usize) };
        let src = text.as_bytes();
        let len = u8::try_from(src.len())
            .ok()
            .filter(|&n| usize::from(n) <= N)?;
        let mut bytes = [0; N];
        bytes[..src.len()].copy_from_slice(src);
        Some(InlineStr { len, bytes })
    }

    /// The string.
    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        let bytes = &self.bytes[..usize::from(self.len)];
        // SAFETY: the fields are private and set only by `new`, which copies
        // all of a `&str`'s bytes to the front of `bytes` and their count to
        // `len`: `bytes` is that `&str`'s bytes, valid UTF-8.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }
}

#[cfg(test)]
mod tests {
    use super::InlineStr;

    #[test]
    fn keeps_what_fits() {
        for text in ["", "/a", "/é∂", "/0123456789"] {
            assert_eq!(
                InlineStr::<11>::new(text)
                    .map(|s| s.as_str().to_owned())
                    .as_deref(),
                Some(text)
            );
        }
        assert!(InlineStr::<11>::new("/0123456789a").is_none());
        let long = "x".repeat(300);
        assert!(InlineStr::<255>::new(&long).is_none());
        assert_eq!(
            InlineStr::<255>::new(&long[..255]).unwrap().as_str(),
            &long[..255]
        );
    }
}
