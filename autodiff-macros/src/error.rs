//! Errors: accumulated while a phase runs, so that a user sees every problem
//! of a function in one build, then combined into one `syn::Error` whose
//! `to_compile_error` spans each message at its own tokens.

use proc_macro2::Span;
use quote::ToTokens;

#[derive(Default)]
pub struct Errors(Vec<syn::Error>);

impl Errors {
    /// An error spanning `tokens` (all of them, for a multi-token node).
    pub fn at(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.0.push(syn::Error::new_spanned(tokens, message));
    }

    /// An error at `span`.
    pub fn at_span(&mut self, span: Span, message: impl std::fmt::Display) {
        self.0.push(syn::Error::new(span, message));
    }

    pub fn push(&mut self, error: syn::Error) {
        self.0.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` if no error was recorded, else all of them combined.
    pub fn finish<T>(self, value: T) -> syn::Result<T> {
        let mut errors = self.0.into_iter();
        match errors.next() {
            None => Ok(value),
            Some(mut first) => {
                first.extend(errors);
                Err(first)
            }
        }
    }
}
