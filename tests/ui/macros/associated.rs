//! An associated function that names neither `self` nor `Self` looks like
//! a free function to the attribute: its async form calls `ping_sync`
//! unqualified, which an `impl` block does not have in scope, and the
//! compiler says so at the function's name (its help means `Self::`). The
//! fix is to name `Self` in the signature: `-> Self`, or `where Self: Sized`.

use threadbridge::threaded;

pub struct Server;

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
}

fn main() {}
