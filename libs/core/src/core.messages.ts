/**
 * Messages of `@keel/core` and the ones every lib shares, as small named factories (the
 * @nestjs/schedule `schedule.messages.ts` pattern): one place to read and reword them.
 * @internal
 */

/**
 * An option asks for Redis but `KeelCoreModule` has none. Every lib reports it with this text.
 * @example redisRequired({ key: "LocksModule.store (forRoot)", asked: "'redis'" })
 */
export function redisRequired(input: { readonly key: string; readonly asked: string }): string {
  return `${input.key}: ${input.asked} needs Redis, and none is configured; set REDIS_URL (or KEEL_REDIS_URL), pass KeelCoreModule.forRoot({ redis }), or leave the option out to use the embedded memory store`;
}

/** The startup line saying where Keel's stores live. */
export function storesLine(input: {
  readonly service: string;
  readonly target: string | undefined;
}): string {
  return `service '${input.service}': stores on ${
    input.target === undefined
      ? 'embedded memory (correct for one process only; set REDIS_URL for a fleet)'
      : `Redis ${input.target}`
  }`;
}

/** A Redis connection asked for after shutdown. */
export function redisClosed(): string {
  return 'Keel Redis connections are closed: the application shut down';
}

/** A Redis connection failed (logged once until it is ready again); never the URL. */
export function redisConnectionError(input: {
  readonly purpose: string;
  readonly target: string;
  readonly reason: string;
}): string {
  return `Redis (${input.purpose} → ${input.target}): ${input.reason}`;
}

/** A Redis connection that had failed is ready again. */
export function redisReconnected(input: {
  readonly purpose: string;
  readonly target: string;
}): string {
  return `Redis (${input.purpose} → ${input.target}) reconnected`;
}

/** A metric name outside Keel's namespace. */
export function metricNamePrefix(input: {
  readonly prefix: string;
  readonly name: string;
}): string {
  return `Keel metric names start with '${input.prefix}': got '${input.name}'`;
}

/** The message of `KeelConfigError`: every problem, one line each. */
export function configInvalid(input: { readonly problems: readonly string[] }): string {
  const count = input.problems.length;
  return (
    `Invalid Keel configuration (${count} problem${count === 1 ? '' : 's'}):\n` +
    input.problems.map((p) => `  - ${p}`).join('\n')
  );
}

/** An invalid tenant id, quoted as JSON and truncated, so it is safe to log and send back. */
export function tenantInvalid(input: { readonly tenant: string }): string {
  const shown = input.tenant.length > 40 ? `${input.tenant.slice(0, 40)}…` : input.tenant;
  return (
    `tenant id ${JSON.stringify(shown)} is not valid: a tenant id is 1 to 128 characters of ` +
    'A-Z, a-z, 0-9, ".", "_" and "-". The work was refused rather than attributed to a tenant ' +
    'it may not belong to; send one valid tenant header (or none).'
  );
}

// ---- the method-policy engine (decorators, explorer, trampoline) ----

/** Every problem the explorer found with decorated methods, one line each. */
export function decoratedMethodProblems(input: { readonly problems: readonly string[] }): string {
  const count = input.problems.length;
  return (
    `Keel found ${count} problem${count === 1 ? '' : 's'} with decorated methods:\n` +
    input.problems.map((p) => `  - ${p}`).join('\n')
  );
}

/** Two providers are policy factories of one kind. */
export function duplicatePolicyFactory(input: {
  readonly kind: string;
  readonly first: string;
  readonly second: string;
}): string {
  return `two providers build '${input.kind}' policies: ${input.first} and ${input.second}`;
}

/** A decorated method's policy has no factory: the module that builds it is not imported. */
export function policyModuleMissing(input: {
  readonly label: string;
  readonly decorator: string;
  readonly module: string;
  readonly pkg: string;
}): string {
  return `${input.label} uses ${input.decorator}, but ${input.module} (${input.pkg}) is not imported; add ${input.module}.forRoot() to the application's imports`;
}

/** A Keel decorator on something that is not a method. */
export function notAMethod(input: { readonly decorator: string; readonly where: string }): string {
  return `${input.decorator} on ${input.where}: only methods can be decorated`;
}

/** A foreign decorator between two Keel decorators replaced the method. */
export function decoratorBetween(input: {
  readonly decorator: string;
  readonly where: string;
}): string {
  return `${input.decorator} on ${input.where}: another decorator between Keel decorators replaced the method; keep Keel decorators adjacent`;
}

/** The same Keel decorator twice on one method. */
export function decoratorTwice(input: {
  readonly decorator: string;
  readonly where: string;
}): string {
  return `${input.where} has ${input.decorator} twice; declare it once`;
}

/** A request-scoped provider with policies, provided by several applications in one process. */
export function policiesAmbiguous(input: {
  readonly where: string;
  readonly decorators: string;
}): string {
  return `${input.where} (${input.decorators}) is request-scoped and provided by more than one application in this process; Keel cannot tell which application's policies apply. Make the provider a singleton.`;
}

/** A decorated method ran before its pipeline was built, with the ways out. */
export function policiesNotBuilt(input: {
  readonly where: string;
  readonly decorators: string;
  readonly modules: string;
  readonly className: string;
}): string {
  return (
    `${input.where} has ${input.decorators} but its policy pipeline was never built, so the call was refused rather than run without them. ` +
    `Potential solutions: import ${input.modules} in the application's root module; ` +
    `do not call the method before the application has initialized (use onApplicationBootstrap rather than a constructor or onModuleInit); ` +
    `in a unit test that creates the instance with \`new\`, wrap it: withoutPolicies(new ${input.className}(...)) from @keel/core runs its methods without the policies.`
  );
}

// ---- key templates ----

/** A key function returned something that is not a non-empty string. */
export function keyFunctionResult(input: { readonly where: string; readonly got: string }): string {
  return `${input.where}: the key function returned ${input.got}; it must return a non-empty string`;
}

/** A key template that is neither a non-empty string nor a function. */
export function keyTemplateInvalid(input: { readonly where: string }): string {
  return `${input.where}: a key template must be a non-empty string or a function`;
}

/** A key template with an unbalanced brace. */
export function keyTemplateBrace(input: {
  readonly where: string;
  readonly template: string;
}): string {
  return `${input.where}: unbalanced brace in key template '${input.template}'`;
}

/** What is wrong with one placeholder of a key template. */
export type PlaceholderProblem =
  | { readonly kind: 'syntax' }
  | { readonly kind: 'position'; readonly index: number; readonly declared: number }
  | { readonly kind: 'name'; readonly known: readonly string[] };

/** A key template's placeholder that names no usable argument. */
export function placeholderInvalid(input: {
  readonly where: string;
  readonly raw: string;
  readonly template: string;
  readonly problem: PlaceholderProblem;
}): string {
  const head = `${input.where}: placeholder '{${input.raw}}' in key template '${input.template}'`;
  const { problem } = input;
  switch (problem.kind) {
    case 'syntax':
      return `${head} is not a parameter name, position or dotted path`;
    case 'position':
      return `${head} refers to argument ${problem.index}, but the method declares ${problem.declared} parameter(s)`;
    case 'name':
      return (
        `${head} names no parameter of the method` +
        ` (parameters: ${problem.known.length ? problem.known.join(', ') : 'none'}). Use a parameter name, a position such as '{0}', or a function.`
      );
  }
}

/** A key value holding a lone surrogate. `subject` names who has it. */
export function keyValueLoneSurrogate(input: {
  readonly subject: string;
  readonly unit: string;
  readonly index: number;
}): string {
  return (
    `${input.subject} a string with a lone surrogate (U+${input.unit} at index ${input.index}), ` +
    'which is not text and cannot make a key; reject the input (it usually comes from a ' +
    'malformed JSON escape such as "\\ud83d") or convert it with String.prototype.toWellFormed()'
  );
}

/** A key value of a type (or an empty or non-finite value) that cannot make a key. */
export function keyValueUnusable(input: {
  readonly subject: string;
  readonly placeholder: boolean;
  readonly got: string;
}): string {
  return `${input.subject} ${input.placeholder ? 'value ' : ''}${input.got}; keys need a non-empty string, a finite number, a bigint or a boolean`;
}

// ---- configuration problems (one line each, `key (source): problem`) ----

/** A YAML section that no module owns. */
export function unknownSection(input: {
  readonly key: string;
  readonly file: string | undefined;
  readonly known: readonly string[];
}): string {
  return `${input.key} (${input.file}): unknown section; known: ${input.known.join(', ')}`;
}

/** A YAML section that is not a mapping. */
export function sectionNotMapping(input: {
  readonly section: string;
  readonly file: string | undefined;
}): string {
  return `${input.section} (${input.file}): must be a mapping`;
}

/** A `KEEL_*` variable core does not know. */
export function unknownVariable(input: {
  readonly name: string;
  readonly known: readonly string[];
}): string {
  return `${input.name}: unknown Keel variable; known: ${input.known.join(', ')}`;
}

/** A `KEEL_<SECTION>_*` variable the module does not declare. */
export function unknownModuleVariable(input: {
  readonly name: string;
  readonly moduleName: string;
  readonly known: readonly string[];
}): string {
  return `${input.name}: unknown variable of ${input.moduleName}; known: ${input.known.join(', ') || 'none'}`;
}

/** A variable set but empty (or blank): never read as unset. */
export function emptyVariable(input: { readonly name: string }): string {
  return `${input.name}: is set but empty; give it a value or unset it`;
}

/** The YAML file named by KEEL_CONFIG cannot be read. */
export function configFileUnreadable(input: {
  readonly file: string;
  readonly code: string;
}): string {
  return `KEEL_CONFIG: cannot read ${input.file} (${input.code})`;
}

/** The YAML file's top level is not a mapping. */
export function configFileNotMapping(input: { readonly file: string }): string {
  return `${input.file}: the top level must be a mapping of sections`;
}

/** The YAML file does not parse. */
export function configFileNotYaml(input: {
  readonly file: string;
  readonly reason: string;
}): string {
  return `${input.file}: not valid YAML (${input.reason})`;
}

/** A `ConfigService` value Keel cannot read as text. */
export function configServiceValue(input: {
  readonly name: string;
  readonly value: unknown;
}): string {
  const what = Array.isArray(input.value)
    ? 'a list of non-scalars'
    : `of type ${typeof input.value}`;
  return `${input.name} (ConfigService): is ${what}; Keel reads text, a number, a boolean or a list of them`;
}

// ---- deadlines ----

/** The default message of `withDeadline`'s KeelDeadlineError. */
export function noAnswerWithin(input: { readonly ms: number }): string {
  return `no answer within ${input.ms} ms`;
}
