// PLACEHOLDER: replaced by the skills validator.
export {};
