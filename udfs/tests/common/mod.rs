pub mod formulas;
