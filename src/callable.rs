//! [`Callable`]: how a `threaded*` wrapper passes its arguments.

/// A function that a `threaded*` wrapper can call with one argument value:
/// `()` for a function of no arguments, the value itself for one argument,
/// a tuple for two to six.
///
/// It is implemented for every `Fn` of up to six arguments that is `Send +
/// Sync + 'static`. The call forms that hand the result to another thread
/// ([`Threaded::call`](crate::Threaded::call), [`Threaded::iter`](crate::Threaded::iter))
/// ask for a `Send + 'static` result (or iterator) themselves, so their
/// errors name what is missing; [`Threaded::sync_call`](crate::Threaded::sync_call)
/// runs inline and takes any result. `Marker` only tells the
/// implementations apart; it is always inferred.
///
/// Closures passed to `threaded` need their argument types written out
/// (`|path: PathBuf| ...`), since nothing else fixes them: `threaded(|s|
/// s.len())` fails with "type annotations needed" (E0282); write
/// `threaded(|s: String| s.len())`.
///
/// Arguments are moved to another thread, so they must be owned (`'static`):
/// pass a `String`, a `Vec` or an `Arc`, not a reference to a local.
///
/// # Examples
///
/// ```
/// use threadbridge::threaded;
///
/// fn area(width: u32, height: u32) -> u32 {
///     width * height
/// }
///
/// let none = threaded(|| "no arguments");
/// let one = threaded(|x: u32| x + 1);
/// let two = threaded(area);
///
/// assert_eq!(none.sync_call(()), "no arguments");
/// assert_eq!(one.sync_call(1), 2);
/// assert_eq!(two.sync_call((3, 4)), 12);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be run by a `threaded` wrapper with the argument value `{Args}`",
    label = "called with `{Args}`",
    note = "arguments go in one value: `()` for a function of no arguments, the value itself for one, a tuple `(a, b)` for two to six",
    note = "the function must be `Fn(..) -> R + Send + Sync + 'static`: it may capture only owned, thread-safe values (`Arc`, not `Rc`; `move` closures, no borrowed locals)"
)]
pub trait Callable<Args, Marker>: Send + Sync + 'static {
    /// What the function returns.
    type Output;

    /// Calls the function.
    fn invoke(&self, args: Args) -> Self::Output;
}

impl<F, R> Callable<(), fn() -> R> for F
where
    F: Fn() -> R + Send + Sync + 'static,
{
    type Output = R;

    fn invoke(&self, (): ()) -> R {
        self()
    }
}

impl<F, R, A> Callable<A, fn(A) -> R> for F
where
    F: Fn(A) -> R + Send + Sync + 'static,
{
    type Output = R;

    fn invoke(&self, arg: A) -> R {
        self(arg)
    }
}

macro_rules! impl_callable {
    ($($arg:ident),+) => {
        impl<F, R, $($arg),+> Callable<($($arg,)+), fn($($arg),+) -> R> for F
        where
            F: Fn($($arg),+) -> R + Send + Sync + 'static,
        {
            type Output = R;

            #[allow(non_snake_case)]
            fn invoke(&self, ($($arg,)+): ($($arg,)+)) -> R {
                self($($arg),+)
            }
        }
    };
}

impl_callable!(A, B);
impl_callable!(A, B, C);
impl_callable!(A, B, C, D);
impl_callable!(A, B, C, D, E);
impl_callable!(A, B, C, D, E, G);
