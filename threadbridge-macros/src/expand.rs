//! The expansion shared by the four attributes: check the function, then
//! emit the async form (named as the function) and the blocking form (named
//! `<name>_sync`).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{
    Error, Expr, FnArg, GenericArgument, GenericParam, Ident, ItemFn, Lifetime, Meta, Pat,
    PathArguments, ReceiverKind, ReturnType, Safety, Type, TypeParamBound, WherePredicate,
};

/// The buffer the iterable attributes give when `max_size` is not set.
const DEFAULT_MAX_SIZE: usize = 1024;

/// Which attribute is expanding.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Threaded,
    Separate,
    Iterable,
    IterableSeparate,
}

impl Kind {
    fn attr(self) -> &'static str {
        match self {
            Kind::Threaded => "#[threaded]",
            Kind::Separate => "#[threaded_separate]",
            Kind::Iterable => "#[threaded_iterable]",
            Kind::IterableSeparate => "#[threaded_iterable_separate]",
        }
    }

    fn takes_pool(self) -> bool {
        matches!(self, Kind::Threaded | Kind::Iterable)
    }

    fn iterable(self) -> bool {
        matches!(self, Kind::Iterable | Kind::IterableSeparate)
    }
}

/// The attribute's arguments.
struct Args {
    pool: Option<Expr>,
    max_size: Option<Expr>,
}

fn parse_args(kind: Kind, args: TokenStream) -> syn::Result<Args> {
    let mut parsed = Args {
        pool: None,
        max_size: None,
    };
    let expected = match kind {
        Kind::Threaded => "`pool = <expr>`",
        Kind::Iterable => "`max_size = <expr>` or `pool = <expr>`",
        Kind::IterableSeparate => "`max_size = <expr>`",
        Kind::Separate => "none: each call runs on a new thread",
    };
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("pool") && kind.takes_pool() {
            if parsed.pool.is_some() {
                return Err(meta.error("`pool` is given twice"));
            }
            parsed.pool = Some(meta.value()?.parse()?);
            Ok(())
        } else if meta.path.is_ident("max_size") && kind.iterable() {
            if parsed.max_size.is_some() {
                return Err(meta.error("`max_size` is given twice"));
            }
            parsed.max_size = Some(meta.value()?.parse()?);
            Ok(())
        } else {
            Err(meta.error(format!(
                "unknown argument for `{}`; it takes {expected}",
                kind.attr()
            )))
        }
    });
    parser.parse2(args)?;
    Ok(parsed)
}

/// Expands one attribute; errors become `compile_error!`s at their tokens.
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(error) => return not_a_function(kind, item, error),
    };
    let mut errors = Vec::new();
    let args = match parse_args(kind, args) {
        Ok(args) => Some(args),
        Err(error) => {
            errors.push(error);
            None
        }
    };
    check_signature(kind, &func, &mut errors);
    let item_type = if kind.iterable() {
        match item_type(kind, &func.sig) {
            Ok(item) => Some(item),
            Err(error) => {
                errors.push(error);
                None
            }
        }
    } else {
        None
    };
    match (args, item_type) {
        (Some(args), item_type) if errors.is_empty() => generate(kind, &args, func, item_type),
        _ => {
            // Keep the function as written, so that its own errors and its
            // callers' do not pile up on top of these.
            let mut output: TokenStream = errors.iter().map(Error::to_compile_error).collect();
            output.extend(func.into_token_stream());
            output
        }
    }
}

/// The error for an item that is no function with a body, followed by the
/// item as written (so that its own uses do not fail as well); a syntax
/// error is the parser's.
fn not_a_function(kind: Kind, item: TokenStream, error: Error) -> TokenStream {
    let attr = kind.attr();
    let ours = if let Ok(method) = syn::parse2::<syn::TraitItemFn>(item.clone()) {
        Error::new_spanned(
            &method.sig,
            format!(
                "`{attr}` needs a function with a body, to run elsewhere; a trait's methods \
                 are fixed by the trait: put the attribute on a function of your own and \
                 call it from the trait's"
            ),
        )
    } else if let Ok(other) = syn::parse2::<syn::Item>(item.clone()) {
        Error::new_spanned(
            &other,
            format!("`{attr}` goes on a function (`fn name(args) -> T {{ body }}`)"),
        )
    } else {
        error
    };
    let mut output = ours.to_compile_error();
    output.extend(item);
    output
}

/// The message's tail for anything borrowed.
const WHY: &str = "the body runs on another thread after the call returns, so it cannot borrow \
                   from the caller";

/// Refuses what cannot run on another thread after the call returns.
fn check_signature(kind: Kind, func: &ItemFn, errors: &mut Vec<Error>) {
    let attr = kind.attr();
    let sig = &func.sig;
    if let Some(token) = &sig.asyncness {
        errors.push(Error::new_spanned(
            token,
            format!(
                "`{attr}` cannot take an `async fn`: an async fn is already a future and \
                 needs no thread; write a plain `fn` with the blocking body"
            ),
        ));
    }
    if let Some(token) = &sig.constness {
        errors.push(Error::new_spanned(
            token,
            format!(
                "`{attr}` cannot take a `const fn`: spawning a thread is not const; drop `const`"
            ),
        ));
    }
    if let Safety::Unsafe(token) = &sig.safety {
        errors.push(Error::new_spanned(
            token,
            format!(
                "`{attr}` cannot take an `unsafe fn`: its caller could not see the unsafety \
                 once the body runs elsewhere; make a safe `fn` around the unsafe block"
            ),
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(Error::new_spanned(
            abi,
            format!("`{attr}` cannot take an `extern` fn; write a plain Rust `fn`"),
        ));
    }
    if let Some(variadic) = &sig.variadic {
        errors.push(Error::new_spanned(
            variadic,
            format!("`{attr}` cannot take a variadic fn"),
        ));
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        if is_never(ty) {
            let why = if kind.iterable() {
                "it needs one that returns an iterator, such as `-> impl Iterator<Item = T>` or \
                 `-> Vec<T>`"
            } else {
                "the async form would return a handle of `!`, which stable Rust cannot name; \
                 return `std::convert::Infallible` instead (a body that never ends still \
                 type-checks) or the value the function ends with"
            };
            errors.push(Error::new_spanned(
                ty,
                format!("`{attr}` cannot take a function that never returns (`-> !`): {why}"),
            ));
        }
    }
    check_attributes(attr, &func.attrs, errors);
    for param in &sig.generics.params {
        if let GenericParam::Lifetime(lifetime) = param {
            errors.push(Error::new_spanned(
                lifetime,
                format!(
                    "`{attr}` cannot take a lifetime parameter: {WHY}; take owned values \
                     (`String`, `Vec<T>`, `Arc<T>`) instead"
                ),
            ));
        }
    }
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => match &receiver.kind {
                ReceiverKind::Reference(..) => errors.push(Error::new_spanned(
                    receiver,
                    format!(
                        "`{attr}` cannot take `&self` or `&mut self`: {WHY}; take `self` by \
                         value or `self: Arc<Self>` (clone the `Arc` to keep using it)"
                    ),
                )),
                ReceiverKind::Typed(_, ty) => {
                    let mut found = Vec::new();
                    check_type(attr, ty, &mut found);
                    if !found.is_empty() {
                        errors.push(Error::new_spanned(
                            receiver,
                            format!(
                                "`{attr}` cannot take a borrowed `self`: {WHY}; take `self` by \
                                 value or `self: Arc<Self>`"
                            ),
                        ));
                    }
                }
                _ => {}
            },
            FnArg::Typed(arg) => check_type(attr, &arg.ty, errors),
        }
    }
}

/// Adds `Send + 'static` to each `impl Trait` in an argument's type, for the
/// async form: the argument crosses to another thread, as a generic
/// parameter's does.
fn send_impl_traits(ty: &mut Type) {
    match ty {
        Type::ImplTrait(opaque) => {
            opaque.bounds.push(syn::parse_quote!(::core::marker::Send));
            opaque.bounds.push(syn::parse_quote!('static));
        }
        Type::Path(path) => {
            if let Some(qself) = &mut path.qself {
                send_impl_traits(&mut qself.ty);
            }
            for segment in &mut path.path.segments {
                if let PathArguments::AngleBracketed(args) = &mut segment.arguments {
                    for arg in &mut args.args {
                        match arg {
                            GenericArgument::Type(ty) => send_impl_traits(ty),
                            GenericArgument::AssocType(assoc) => send_impl_traits(&mut assoc.ty),
                            _ => {}
                        }
                    }
                }
            }
        }
        Type::Tuple(tuple) => tuple.elems.iter_mut().for_each(send_impl_traits),
        Type::Array(array) => send_impl_traits(&mut array.elem),
        Type::Slice(slice) => send_impl_traits(&mut slice.elem),
        Type::Paren(paren) => send_impl_traits(&mut paren.elem),
        Type::Group(group) => send_impl_traits(&mut group.elem),
        Type::Reference(reference) => send_impl_traits(&mut reference.elem),
        _ => {}
    }
}

/// Whether `ty` is `!`, in parentheses or not.
fn is_never(ty: &Type) -> bool {
    match ty {
        Type::Never(_) => true,
        Type::Paren(paren) => is_never(&paren.elem),
        Type::Group(group) => is_never(&group.elem),
        _ => false,
    }
}

/// The attributes of this crate, by the last segment of their path.
const ATTRIBUTES: [&str; 4] = [
    "threaded",
    "threaded_separate",
    "threaded_iterable",
    "threaded_iterable_separate",
];

/// Refuses the function's attributes that cannot go on both of the
/// functions it becomes: a second attribute of this crate (which would
/// expand twice and define `<name>_sync` twice), and those that give the
/// function a symbol name of its own (`no_mangle`, `export_name`), which
/// two functions cannot share.
fn check_attributes(attr: &str, attrs: &[syn::Attribute], errors: &mut Vec<Error>) {
    for other in attrs {
        let mut path = other.path();
        // `#[unsafe(no_mangle)]`, the 2024 edition's spelling.
        let inner;
        if path.is_ident("unsafe") {
            if let Ok(meta) = other.parse_args::<Meta>() {
                inner = meta;
                path = inner.path();
            }
        }
        let Some(last) = path.segments.last() else {
            continue;
        };
        if ATTRIBUTES.iter().any(|name| last.ident == name) {
            errors.push(Error::new_spanned(
                other,
                format!(
                    "`{attr}` and `#[{}]` cannot go on the same function: each makes an async \
                     form and a blocking form; keep one",
                    last.ident
                ),
            ));
        } else if path.is_ident("no_mangle") || path.is_ident("export_name") {
            errors.push(Error::new_spanned(
                other,
                format!(
                    "`{attr}` cannot take `#[{}]`: the function becomes two (`name` and \
                     `name_sync`), which cannot share one symbol; export a plain function that \
                     calls `name_sync`",
                    last.ident
                ),
            ));
        }
    }
}

/// Refuses borrowed types (a reference or a lifetime other than `'static`)
/// in an argument's type, `impl Trait` bounds included. Function pointer
/// types and `Fn` sugar (`fn(&str)`, `dyn Fn(&str)`) borrow only for their
/// own call, so they pass.
fn check_type(attr: &str, ty: &Type, errors: &mut Vec<Error>) {
    match ty {
        Type::Reference(reference) => {
            if is_static(reference.lifetime.as_ref()) {
                check_type(attr, &reference.elem, errors);
            } else {
                errors.push(Error::new_spanned(
                    ty,
                    format!(
                        "`{attr}` cannot take a borrowed argument: {WHY}; pass an owned value \
                         (`String` for `&str`, `Vec<T>` for `&[T]`, `Arc<T>` to share) or a \
                         `&'static` reference"
                    ),
                ));
            }
        }
        Type::ImplTrait(opaque) => check_bounds(attr, &opaque.bounds, errors),
        Type::Path(path) => {
            if let Some(qself) = &path.qself {
                check_type(attr, &qself.ty, errors);
            }
            check_path(attr, &path.path, errors);
        }
        Type::TraitObject(object) => check_bounds(attr, &object.bounds, errors),
        Type::Tuple(tuple) => {
            for elem in &tuple.elems {
                check_type(attr, elem, errors);
            }
        }
        Type::Array(array) => check_type(attr, &array.elem, errors),
        Type::Slice(slice) => check_type(attr, &slice.elem, errors),
        Type::Paren(paren) => check_type(attr, &paren.elem, errors),
        Type::Group(group) => check_type(attr, &group.elem, errors),
        Type::Ptr(ptr) => check_type(attr, &ptr.elem, errors),
        _ => {}
    }
}

fn check_path(attr: &str, path: &syn::Path, errors: &mut Vec<Error>) {
    for segment in &path.segments {
        // `Fn(&str) -> T` borrows only for the call.
        if let PathArguments::AngleBracketed(args) = &segment.arguments {
            for arg in &args.args {
                match arg {
                    GenericArgument::Lifetime(lifetime) => check_lifetime(attr, lifetime, errors),
                    GenericArgument::Type(ty) => check_type(attr, ty, errors),
                    GenericArgument::AssocType(assoc) => check_type(attr, &assoc.ty, errors),
                    _ => {}
                }
            }
        }
    }
}

fn check_bounds(
    attr: &str,
    bounds: &Punctuated<TypeParamBound, syn::Token![+]>,
    errors: &mut Vec<Error>,
) {
    for bound in bounds {
        match bound {
            // `for<'a> Trait<'a>` names its own lifetimes.
            TypeParamBound::Trait(trait_bound) if trait_bound.lifetimes.is_none() => {
                check_path(attr, &trait_bound.path, errors);
            }
            TypeParamBound::Lifetime(lifetime) => check_lifetime(attr, lifetime, errors),
            _ => {}
        }
    }
}

fn check_lifetime(attr: &str, lifetime: &Lifetime, errors: &mut Vec<Error>) {
    if !is_static(Some(lifetime)) {
        errors.push(Error::new_spanned(
            lifetime,
            format!(
                "`{attr}` cannot take a borrowed argument: {WHY}; pass an owned value or \
                 use `'static`"
            ),
        ));
    }
}

fn is_static(lifetime: Option<&Lifetime>) -> bool {
    lifetime.is_some_and(|lifetime| lifetime.ident == "static")
}

/// The items' type of an iterable function's return type: `T` of `impl
/// Iterator<Item = T>`, else `<Ret as IntoIterator>::Item`.
fn item_type(kind: Kind, sig: &syn::Signature) -> syn::Result<TokenStream> {
    let attr = kind.attr();
    let ReturnType::Type(_, ty) = &sig.output else {
        return Err(Error::new_spanned(
            &sig.ident,
            format!(
                "`{attr}` needs a function that returns an iterator, such as \
                 `-> impl Iterator<Item = T>` or `-> Vec<T>`"
            ),
        ));
    };
    if let Type::ImplTrait(opaque) = &**ty {
        for bound in &opaque.bounds {
            let TypeParamBound::Trait(bound) = bound else {
                continue;
            };
            let Some(last) = bound.path.segments.last() else {
                continue;
            };
            let PathArguments::AngleBracketed(args) = &last.arguments else {
                continue;
            };
            for arg in &args.args {
                if let GenericArgument::AssocType(assoc) = arg {
                    if assoc.ident == "Item" {
                        return Ok(assoc.ty.to_token_stream());
                    }
                }
            }
        }
        return Err(Error::new_spanned(
            ty,
            format!(
                "`{attr}` needs the item type written in the return type, as in \
                 `-> impl Iterator<Item = T>`"
            ),
        ));
    }
    Ok(quote!(<#ty as ::core::iter::IntoIterator>::Item))
}

/// Whether the async form must call `Self::<name>_sync` rather than
/// `<name>_sync`: whether the function is in an `impl` block. An attribute
/// cannot see where it stands, so this is read from what only a function in
/// an `impl` can write, and so what no free function ever has: a `self`
/// receiver, or `Self` in the signature, in the attribute's own arguments
/// (which the async form evaluates), or in the body's own code.
///
/// What is not the body's own code is not read: an item nested in the body
/// (an `impl`, a `trait`, a `struct`, a `fn`, ...), whose `Self` names that
/// item's type, never the enclosing `impl`'s; and a macro's tokens, whose
/// `Self` may be put inside an item by the macro (`make_impl!(P, Self(1))`)
/// where an attribute cannot follow it, unless the macro is one of the
/// standard library's expression macros (`format!`, `vec!`, ...), which
/// leave their arguments where they are. A free function is therefore never
/// taken for a method; an associated function whose only `Self` is in
/// another macro must name `Self` in its signature (the crate docs say so).
fn calls_through_self(func: &ItemFn, args: &Args) -> bool {
    let mut finder = OwnSelf::default();
    for expr in [&args.pool, &args.max_size].into_iter().flatten() {
        finder.visit_expr(expr);
    }
    finder.visit_signature(&func.sig);
    finder.visit_block(&func.block);
    finder.found
}

/// Looks for `Self` (or a `self` receiver) outside nested items and macro
/// tokens; see [`calls_through_self`].
#[derive(Default)]
struct OwnSelf {
    found: bool,
}

impl<'ast> Visit<'ast> for OwnSelf {
    fn visit_ident(&mut self, ident: &'ast Ident) {
        if ident == "Self" {
            self.found = true;
        }
    }

    fn visit_receiver(&mut self, _: &'ast syn::Receiver) {
        self.found = true;
    }

    // Nested items have a `Self` of their own, or none.
    fn visit_item(&mut self, _: &'ast syn::Item) {}

    // A macro's tokens are not code the attribute can place, but those of
    // the standard library's expression macros are expressions that stay
    // where they are written.
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if is_std_macro(&mac.path, &["matches"]) {
            // `matches!(value, pattern if guard)`.
            let parsed = mac.parse_body_with(|input: syn::parse::ParseStream<'_>| {
                let value: Expr = input.parse()?;
                input.parse::<syn::Token![,]>()?;
                let pattern = Pat::parse_multi_with_leading_vert(input)?;
                let guard = match input.parse::<Option<syn::Token![if]>>()? {
                    Some(_) => Some(input.parse::<Expr>()?),
                    None => None,
                };
                input.parse::<Option<syn::Token![,]>>()?;
                Ok((value, pattern, guard))
            });
            if let Ok((value, pattern, guard)) = parsed {
                self.visit_expr(&value);
                self.visit_pat(&pattern);
                if let Some(guard) = guard {
                    self.visit_expr(&guard);
                }
            }
            return;
        }
        if !is_std_macro(&mac.path, &STD_EXPRESSION_MACROS) {
            return;
        }
        let listed = mac.parse_body_with(Punctuated::<Expr, syn::Token![,]>::parse_terminated);
        // `vec![value; count]`.
        let repeated = || {
            mac.parse_body_with(|input: syn::parse::ParseStream<'_>| {
                let value: Expr = input.parse()?;
                input.parse::<syn::Token![;]>()?;
                let count: Expr = input.parse()?;
                Ok(Punctuated::from_iter([value, count]))
            })
        };
        if let Ok(exprs) = listed.or_else(|_| repeated()) {
            for expr in &exprs {
                self.visit_expr(expr);
            }
        }
    }

    // An attribute's arguments are not code.
    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {}
}

/// The standard library's macros whose arguments are expressions, expanded
/// in place.
const STD_EXPRESSION_MACROS: [&str; 20] = [
    "assert",
    "assert_eq",
    "assert_ne",
    "dbg",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "eprint",
    "eprintln",
    "format",
    "format_args",
    "panic",
    "print",
    "println",
    "todo",
    "unimplemented",
    "unreachable",
    "vec",
    "write",
    "writeln",
];

/// Whether `path` names one of the standard library's macros in `names`: by
/// its name alone (as the prelude brings it) or under `std`, `core` or
/// `alloc`.
fn is_std_macro(path: &syn::Path, names: &[&str]) -> bool {
    let segments: Vec<&Ident> = path.segments.iter().map(|segment| &segment.ident).collect();
    let name = match segments[..] {
        [name] => name,
        [krate, name] if ["std", "core", "alloc"].iter().any(|known| krate == known) => name,
        _ => return false,
    };
    names.iter().any(|known| name == known)
}

/// Adds `Send + 'static` to every type parameter: in its `where` predicate
/// if it has one, else beside the parameter.
fn add_send_static(generics: &mut syn::Generics) {
    let send: TypeParamBound = syn::parse_quote!(::core::marker::Send);
    let is_static: TypeParamBound = syn::parse_quote!('static);
    let mut in_where = Vec::new();
    if let Some(where_clause) = &mut generics.where_clause {
        for predicate in &mut where_clause.predicates {
            let WherePredicate::Type(predicate) = predicate else {
                continue;
            };
            let Type::Path(path) = &predicate.bounded_ty else {
                continue;
            };
            let Some(ident) = path.path.get_ident() else {
                continue;
            };
            if path.qself.is_none() && !in_where.contains(ident) {
                in_where.push(ident.clone());
                predicate.bounds.push(send.clone());
                predicate.bounds.push(is_static.clone());
            }
        }
    }
    for param in generics.type_params_mut() {
        if in_where.contains(&param.ident) {
            continue;
        }
        param.colon_token.get_or_insert_with(Default::default);
        param.bounds.push(send.clone());
        param.bounds.push(is_static.clone());
    }
}

fn generate(kind: Kind, args: &Args, func: ItemFn, item_type: Option<TokenStream>) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        modifiers: _,
        sig,
        block,
    } = func.clone();
    let name = &sig.ident;
    let sync_name = format_ident!("{}_sync", name);
    let through_self = calls_through_self(&func, args);

    // Docs go on the async form, which keeps the name; everything else
    // (`cfg`, `allow`, `doc(hidden)`, ...) goes on both.
    let (docs, others): (Vec<_>, Vec<_>) = attrs
        .iter()
        .partition(|attr| matches!(&attr.meta, Meta::NameValue(meta) if meta.path.is_ident("doc")));

    // The async form's parameters: plain names are kept (a `pool = expr` may
    // use them); any other pattern becomes a hygienic `argN`. Each keeps its
    // attributes, and its argument in the call keeps the `cfg`s among them,
    // so that a parameter configured out is gone from both forms and from
    // the call alike.
    let mut params = Vec::new();
    let mut call_args = Vec::new();
    for (index, input) in sig.inputs.iter().enumerate() {
        let (attrs, param, arg) = match input {
            FnArg::Receiver(receiver) => {
                let self_token = &receiver.self_token;
                let param = match &receiver.kind {
                    ReceiverKind::Typed(colon, ty) => quote!(#self_token #colon #ty),
                    _ => quote!(#self_token),
                };
                (&receiver.attrs, param, quote!(#self_token))
            }
            FnArg::Typed(arg) => {
                let ident = match &*arg.pat {
                    Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => {
                        pat.ident.clone()
                    }
                    _ => Ident::new(&format!("arg{index}"), Span::mixed_site()),
                };
                let mut ty = (*arg.ty).clone();
                send_impl_traits(&mut ty);
                (&arg.attrs, quote!(#ident: #ty), quote!(#ident))
            }
        };
        let cfgs = attrs
            .iter()
            .filter(|attr| attr.path().is_ident("cfg") || attr.path().is_ident("cfg_attr"));
        params.push(quote!(#(#attrs)* #param));
        call_args.push(quote!(#(#cfgs)* #arg));
    }

    // `Send + 'static` for each type parameter (where its other bounds are,
    // so that they stay in one place), and for `Self` when it is moved to
    // the other thread.
    let mut generics = sig.generics.clone();
    add_send_static(&mut generics);
    if let Some(receiver) = sig.receiver() {
        let predicate: WherePredicate = syn::parse_quote_spanned! {receiver.span()=>
            Self: ::core::marker::Send + 'static
        };
        generics.make_where_clause().predicates.push(predicate);
    }
    let (impl_generics, type_generics, where_clause) = generics.split_for_impl();
    let turbofish = type_generics.as_turbofish();

    let sync_path = if through_self {
        quote!(Self::#sync_name)
    } else {
        quote!(#sync_name)
    };
    let call = quote_spanned!(name.span()=> #sync_path #turbofish(#(#call_args),*));

    let pool = Ident::new("pool", Span::mixed_site());
    let job = Ident::new("job", Span::mixed_site());
    let sent = Ident::new("sent_to_its_own_thread", Span::mixed_site());
    let max_size = Ident::new("max_size", Span::mixed_site());
    let pool_binding = args.pool.as_ref().map(|expr| {
        quote! {
            let #pool: ::threadbridge::ThreadPool = ::threadbridge::ThreadPool::clone(&(#expr));
        }
    });
    let max_size_binding = {
        let expr = match &args.max_size {
            Some(expr) => expr.to_token_stream(),
            None => quote!(#DEFAULT_MAX_SIZE),
        };
        quote!(let #max_size: usize = #expr;)
    };
    // After the bindings above, which may use the arguments that this
    // closure takes. The blocking form carries the function's attributes,
    // `#[deprecated]` among them; calling it here is no use of the user's.
    let run = Ident::new("run", Span::mixed_site());
    let run_binding = quote! {
        #[allow(deprecated)]
        let #run = move || #call;
    };
    let sync_output = &sig.output;
    let ret = match &sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    };

    let (async_output, async_body) = match kind {
        Kind::Threaded => {
            let body = match &args.pool {
                Some(_) => quote! {
                    #pool_binding
                    #run_binding
                    ::threadbridge::ThreadPool::spawn(&#pool, #run)
                },
                None => quote! {
                    #run_binding
                    ::threadbridge::spawn(#run)
                },
            };
            (quote!(::threadbridge::JoinHandle<#ret>), body)
        }
        Kind::Separate => (
            quote!(::threadbridge::JoinHandle<#ret>),
            // `threaded_separate` wants an `Fn`; the call is `FnOnce`, so it
            // waits in a slot that the one call empties. A generic helper
            // does it, so that a value that cannot go to another thread is
            // told once, as such, at the helper's bounds. The helper is in a
            // block of its own, so that its name (an item's name is not
            // hygienic) shadows no argument of the call.
            quote! {
                #run_binding
                {
                    fn #sent<F, T>(#run: F) -> ::threadbridge::JoinHandle<T>
                    where
                        F: ::core::ops::FnOnce() -> T + ::core::marker::Send + 'static,
                        T: ::core::marker::Send + 'static,
                    {
                        let #job = ::std::sync::Mutex::new(::core::option::Option::Some(#run));
                        ::threadbridge::threaded_separate(move || {
                            let #job = #job
                                .lock()
                                .unwrap_or_else(::std::sync::PoisonError::into_inner)
                                .take()
                                .expect("a `#[threaded_separate]` call runs once");
                            #job()
                        })
                        .call(())
                    }
                    #sent(#run)
                }
            },
        ),
        Kind::Iterable => {
            let pool_ref = match &args.pool {
                Some(_) => quote!(&#pool),
                None => quote!(&::threadbridge::default_pool()),
            };
            (
                quote!(::threadbridge::IteratorWrapper<#item_type>),
                quote! {
                    #pool_binding
                    #max_size_binding
                    #run_binding
                    ::threadbridge::IteratorWrapper::new(#run, #pool_ref, #max_size)
                },
            )
        }
        Kind::IterableSeparate => (
            quote!(::threadbridge::IteratorWrapper<#item_type>),
            quote! {
                #max_size_binding
                #run_binding
                ::threadbridge::IteratorWrapper::separate(#run, #max_size)
            },
        ),
    };

    let sync_doc = format!(
        " The blocking form of `{name}`, which `{}` keeps beside it: runs the body inline \
         on the calling thread and returns its result.",
        kind.attr()
    );
    let fn_token = &sig.fn_token;
    let sync_generics = &sig.generics;
    let sync_where = &sig.generics.where_clause;
    let sync_inputs = &sig.inputs;
    quote! {
        #(#docs)*
        #(#others)*
        #vis #fn_token #name #impl_generics (#(#params),*) -> #async_output #where_clause {
            #async_body
        }

        #[doc = #sync_doc]
        #(#others)*
        #vis #fn_token #sync_name #sync_generics (#sync_inputs) #sync_output #sync_where
        #block
    }
}
