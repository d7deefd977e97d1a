// Skill choices for a form that plans interviews (the dashboard's new interview, a recruiter's
// job): the interview type's suggested skills first, every other skill behind "More skills",
// each a checkbox named `skills` in a pill (.check).

/**
 * Fills `suggested` and `other` with the skills of interview type `typeSlug` from `catalog`
 * (`{types, skills}` as /interview-types and /skills answer). `chosen` (a Set of slugs) ticks
 * those skills; without it the type's suggested skills are ticked. Box ids start `idPrefix`.
 * Returns the chosen type (or undefined).
 */
export function renderSkillChoices({ catalog, typeSlug, suggested, other, more, idPrefix, chosen = null }) {
  const type = catalog.types.find((candidate) => candidate.slug === typeSlug);
  const suggestedSkills = type?.suggested_skills ?? [];
  const suggestedSlugs = new Set(suggestedSkills.map((skill) => skill.slug));
  const names = new Map(catalog.skills.map((skill) => [skill.slug, skill.name]));
  const ticked = (slug, otherwise) => (chosen ? chosen.has(slug) : otherwise);
  suggested.replaceChildren(
    ...suggestedSkills.map((skill) =>
      skillBox(idPrefix, skill.slug, names.get(skill.slug) ?? skill.name, ticked(skill.slug, true)),
    ),
  );
  const others = catalog.skills.filter((skill) => !suggestedSlugs.has(skill.slug));
  // A chosen skill the catalog no longer lists stays chosen (and visible).
  for (const slug of chosen ?? []) {
    if (!suggestedSlugs.has(slug) && !names.has(slug)) others.push({ slug, name: slug });
  }
  other.replaceChildren(...others.map((skill) => skillBox(idPrefix, skill.slug, skill.name, ticked(skill.slug, false))));
  more.hidden = others.length === 0;
  more.open = others.some((skill) => chosen?.has(skill.slug));
  return type;
}

export function skillBox(idPrefix, slug, name, checked) {
  const label = document.createElement('label');
  label.className = 'check';
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.name = 'skills';
  box.value = slug;
  box.id = `${idPrefix}${slug}`;
  box.checked = checked;
  const text = document.createElement('span');
  text.textContent = name;
  label.append(box, text);
  return label;
}

/** The skill boxes inside `container`. */
export const skillBoxes = (container) => [...container.querySelectorAll('input[name="skills"]')];

/** The ticked skills' slugs inside `container`. */
export const checkedSkills = (container) => skillBoxes(container).filter((box) => box.checked).map((box) => box.value);
