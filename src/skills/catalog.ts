// PLACEHOLDER: replaced by the skills loader.
export interface SkillCatalog {
  names(): Promise<string[]>;
}
