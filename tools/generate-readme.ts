// PLACEHOLDER: replaced by the README table generator.
export {};
