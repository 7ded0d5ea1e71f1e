/**
 * Forms without their content: `field_focus`, `field_blur`, `field_change` and `form_submit` name the form and
 * the field and never read a value, except to say whether a changed field is now empty.
 */
import { cap } from '../context.ts';
import { type Cleanup, ignored, listen, ms } from './listen.ts';
import type { AutocaptureOptions, CaptureApi } from './options.ts';

type Field = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

const notFields = new Set(['hidden', 'submit', 'button', 'reset', 'image']);

function asField(target: EventTarget | null): Field | undefined {
  if (
    (target instanceof HTMLInputElement && !notFields.has(target.type)) ||
    target instanceof HTMLSelectElement ||
    target instanceof HTMLTextAreaElement
  ) {
    return ignored(target) ? undefined : target;
  }
  return undefined;
}

/** The form's id or name attribute (read as attributes: a field named "id" shadows `form.id`), else its position. */
function formId(form: HTMLFormElement | null): string {
  if (!form) return '(none)';
  return cap(
    form.getAttribute('id') || form.getAttribute('name') || `form-${[...document.forms].indexOf(form)}`,
    256,
  );
}

function fieldName(field: Field): string {
  const siblings = field.form
    ? [...field.form.elements]
    : [...document.querySelectorAll('input,select,textarea')];
  return cap(field.getAttribute('name') || field.id || `${field.localName}-${siblings.indexOf(field)}`, 256);
}

function isEmpty(field: Field): boolean {
  if (field instanceof HTMLInputElement) {
    if (field.type === 'checkbox' || field.type === 'radio') return !field.checked;
    if (field.type === 'file') return !field.files?.length;
  }
  return field.value === '';
}

export function captureForms(api: CaptureApi, on: (kind: keyof AutocaptureOptions) => boolean): Cleanup[] {
  const cleanups: Cleanup[] = [];
  const focusedAt = new WeakMap<Field, number>();
  const edited = new WeakSet<Field>();
  const formStartedAt = new WeakMap<HTMLFormElement, number>();
  const describe = (field: Field) => ({
    form_id: formId(field.form),
    field_name: fieldName(field),
    field_type: cap(field.type, 64),
  });

  cleanups.push(
    listen(document, 'focusin', (event) => {
      const field = asField(event.target);
      if (!field) return;
      focusedAt.set(field, performance.now());
      edited.delete(field);
      if (field.form && !formStartedAt.has(field.form)) formStartedAt.set(field.form, performance.now());
      if (on('fields')) api.track('field_focus', describe(field));
    }),
  );
  if (on('fields')) {
    cleanups.push(
      listen(document, 'input', (event) => {
        const field = asField(event.target);
        if (field) edited.add(field);
      }),
      listen(document, 'change', (event) => {
        const field = asField(event.target);
        if (!field) return;
        edited.add(field);
        api.track('field_change', { ...describe(field), is_empty: isEmpty(field) });
      }),
      listen(document, 'focusout', (event) => {
        const field = asField(event.target);
        if (!field) return;
        const since = focusedAt.get(field);
        api.track('field_blur', {
          ...describe(field),
          ...(since === undefined ? {} : { focus_duration_ms: ms(performance.now() - since) }),
          changed: edited.has(field),
        });
      }),
    );
  }
  if (on('forms')) {
    cleanups.push(
      listen(document, 'submit', (event) => {
        const form = event.target;
        if (!(form instanceof HTMLFormElement) || ignored(form)) return;
        const started = formStartedAt.get(form);
        formStartedAt.delete(form);
        api.track('form_submit', {
          form_id: formId(form),
          field_count: [...form.elements].filter((element) => asField(element)).length,
          error_count: [...form.querySelectorAll(':invalid')].filter((element) => asField(element)).length,
          ...(started === undefined ? {} : { duration_ms: ms(performance.now() - started) }),
        });
      }),
    );
  }
  return cleanups;
}
