// PLACEHOLDER: replaced by the skills validator.
