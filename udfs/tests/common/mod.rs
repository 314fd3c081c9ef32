pub mod formulas;
pub mod session;
