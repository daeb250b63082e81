//! An associated function that names neither `self` nor `Self` looks like
//! a free function to the attribute: its async form calls `ping_sync`
//! unqualified, which an `impl` block does not have in scope, and the
//! compiler says so at the function's name (its help means `Self::`). The
//! fix is to name `Self` in the signature: `-> Self`, or `where Self: Sized`.
//! A `Self` that only a nested item or a macro's tokens hold does not count.

use threadbridge::threaded;

pub struct Server;

macro_rules! same {
    ($e:expr) => {
        $e
    };
}

impl Server {
    #[threaded]
    pub fn ping() -> u32 {
        // The `Self` of a nested item does not count.
        struct Reply;
        impl Reply {
            fn code() -> u32 {
                let _: Option<Self> = None;
                200
            }
        }
        Reply::code()
    }

    const NAME: &'static str = "server";

    // Nor does a `Self` in a macro's tokens, which the macro may put in an
    // item of its own (the standard library's expression macros aside).
    #[threaded]
    pub fn name() -> String {
        same!(Self::NAME).to_owned()
    }

    // What the message asks for.
    #[threaded]
    pub fn named() -> String
    where
        Self: Sized,
    {
        same!(Self::NAME).to_owned()
    }
}

fn main() {}
