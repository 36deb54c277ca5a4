//! Read models folded from the log; see issue 3.
