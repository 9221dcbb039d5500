pub fn main<I, T>(_args: I) -> crate::Outcome where I: IntoIterator<Item = T>, T: Into<std::ffi::OsString> + Clone { crate::Outcome::Ok }
