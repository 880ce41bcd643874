import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Module, Scope, type INestApplication } from '@nestjs/common';
import { ContextIdFactory } from '@nestjs/core';
import { EventPattern, MessagePattern } from '@nestjs/microservices';
import { PATTERN_METADATA } from '@nestjs/microservices/constants.js';
import { Test } from '@nestjs/testing';
import { KeelCoreModule } from '../core.module.js';
import { KeelDecoratorError, KeelPolicyNotInitializedError } from '../core.errors.js';
import { loadKeelConfig } from '../config/keel-config.js';
import { RequestContext } from '../context/request-context.js';
import { PolicyFactoryFor } from './policy-factory.decorator.js';
import { PATTERN_METADATA as KEEL_PATTERN_METADATA } from './policy.explorer.js';
import type { Invocation, Next, PolicyFactory, PolicyTarget } from './policy.interfaces.js';
import { createPolicyDecorator, getMethodPolicies, withoutPolicies } from './trampoline.js';

/**
 * Test policies: each records its name when entered, so a call's trace shows the order the
 * pipeline really ran in. They are registered with the real engine exactly as libraries do.
 */
const trace: string[] = [];
const Outer = (tag: string) => createPolicyDecorator('timed', tag);
const Mid = (tag: string) => createPolicyDecorator('retry', tag);
const Inner = (tag: string) => createPolicyDecorator('lock', tag);
const Key = (template: string) => createPolicyDecorator('idempotent', template);

function tracingFactory(kind: string) {
  return class implements PolicyFactory<string> {
    readonly targets: PolicyTarget[] = [];
    create(tag: string, target: PolicyTarget) {
      this.targets.push(target);
      return (invocation: Invocation, next: Next) => {
        trace.push(`${kind}:${tag}`);
        return next(invocation);
      };
    }
  };
}
@PolicyFactoryFor('retry')
class MidFactory extends tracingFactory('retry') {}
@PolicyFactoryFor('lock')
class InnerFactory extends tracingFactory('lock') {}

@Injectable()
class Service {
  calls = 0;

  @Inner('a')
  @Mid('a')
  @Outer('a')
  async writtenInnerFirst(value: number) {
    trace.push('method');
    return value * 2;
  }

  @Outer('b')
  @Mid('b')
  @Inner('b')
  syncMethod(value: number) {
    trace.push('method');
    this.calls++;
    return value + 1;
  }

  @Mid('c')
  throws() {
    throw new RangeError('boom');
  }

  @Mid('d')
  async rejects() {
    throw new TypeError('async boom');
  }

  @Mid('e')
  context() {
    return RequestContext.correlationId();
  }
}

@Controller('things')
class ThingsController {
  constructor(private readonly service: Service) {}

  @Outer('http')
  @Get(':id')
  @Mid('http')
  get() {
    return { doubled: 2 };
  }

  @Mid('evt')
  @EventPattern('thing.created')
  @Outer('evt')
  onCreated(payload: unknown) {
    return payload;
  }

  @MessagePattern('thing.get')
  @Inner('msg')
  onGet() {
    return this.service.syncMethod(1);
  }
}

@Module({ providers: [Service, MidFactory, InnerFactory], controllers: [ThingsController] })
class FeatureModule {}

const config = loadKeelConfig({ env: {} });

async function boot(extra: { imports?: unknown[] } = {}): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [KeelCoreModule.forRoot({ config }), FeatureModule, ...((extra.imports ?? []) as [])],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

describe('method-policy engine', () => {
  let apps: INestApplication[] = [];
  afterEach(async () => {
    trace.length = 0;
    await Promise.all(apps.map((a) => a.close()));
    apps = [];
  });
  const start = async () => {
    const app = await boot();
    apps.push(app);
    return app;
  };

  it('runs policies in the canonical order whatever order they are written in', async () => {
    const service = (await start()).get(Service);
    await expect(service.writtenInnerFirst(2)).resolves.toBe(4);
    expect(trace).toEqual(['retry:a', 'lock:a', 'method']);
    trace.length = 0;
    expect(service.syncMethod(1)).toBe(2);
    expect(trace).toEqual(['retry:b', 'lock:b', 'method']);
  });

  it('keeps sync methods sync and async methods async', async () => {
    const service = (await start()).get(Service);
    expect(service.syncMethod(41)).toBe(42);
    expect(service.writtenInnerFirst(1)).toBeInstanceOf(Promise);
  });

  it('propagates errors unchanged, sync and async', async () => {
    const service = (await start()).get(Service);
    expect(() => service.throws()).toThrow(RangeError);
    await expect(service.rejects()).rejects.toThrow(TypeError);
    await expect(service.rejects()).rejects.toThrow('async boom');
  });

  it('keeps Nest route and pattern metadata, name and length, above or below', () => {
    const proto = ThingsController.prototype;
    expect(Reflect.getMetadata('path', proto.get)).toBe(':id');
    expect(Reflect.getMetadata('method', proto.get)).toBe(0);
    expect(Reflect.getMetadata(PATTERN_METADATA, proto.onCreated)).toEqual(['thing.created']);
    expect(Reflect.getMetadata(PATTERN_METADATA, proto.onGet)).toEqual(['thing.get']);
    expect(proto.get.name).toBe('get');
    expect(proto.onCreated.name).toBe('onCreated');
    expect(proto.onCreated.length).toBe(1);
    expect(Service.prototype.writtenInnerFirst.length).toBe(1);
    expect(getMethodPolicies(proto.onCreated).map((p) => p.kind)).toEqual(['timed', 'retry']);
  });

  it("reads microservice handlers by @nestjs/microservices' own metadata key", () => {
    expect(KEEL_PATTERN_METADATA).toBe(PATTERN_METADATA);
  });

  it('finds factories provided under other tokens, and refuses two factories of one kind', async () => {
    @PolicyFactoryFor('retry')
    class OtherMidFactory extends tracingFactory('retry') {}

    @Module({
      providers: [
        Service,
        { provide: 'retry-factory', useClass: MidFactory },
        { provide: 'lock-factory', useFactory: () => new InnerFactory() },
      ],
    })
    class AliasedModule {}
    const moduleRef = await Test.createTestingModule({
      imports: [KeelCoreModule.forRoot({ config }), AliasedModule],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    apps.push(app);
    await app.init();
    app.get(Service).syncMethod(1);
    expect(trace).toEqual(['retry:b', 'lock:b', 'method']);

    @Module({ providers: [Service, MidFactory, OtherMidFactory, InnerFactory] })
    class TwoFactoriesModule {}
    const twice = await Test.createTestingModule({
      imports: [KeelCoreModule.forRoot({ config }), TwoFactoriesModule],
    }).compile();
    const failing = twice.createNestApplication({ logger: false });
    await expect(failing.init()).rejects.toThrow(
      "two providers build 'retry' policies: MidFactory and OtherMidFactory",
    );
    await failing.close();
  });

  it('applies to controller handlers and tells factories what kind of handler they wrap', async () => {
    const app = await start();
    const mid = app.get(MidFactory);
    const byMethod = new Map(mid.targets.map((t) => [t.methodName, t]));
    expect(byMethod.get('get')?.handlerType).toBe('http');
    expect(byMethod.get('onCreated')?.handlerType).toBe('rpc');
    expect(byMethod.get('syncMethod')?.handlerType).toBe('provider');
    expect(byMethod.get('get')?.label).toBe('ThingsController.get');
    expect(byMethod.get('writtenInnerFirst')?.parameterNames).toEqual(['value']);
    expect(byMethod.get('writtenInnerFirst')?.returnsPromise).toBe(true);
    expect(byMethod.get('syncMethod')?.returnsPromise).toBe(false);
    app.get(ThingsController).onCreated({});
    expect(trace).toEqual(['retry:evt']);
  });

  it('builds each pipeline once, not per call', async () => {
    const app = await start();
    const service = app.get(Service);
    const before = app.get(MidFactory).targets.length;
    for (let i = 0; i < 10; i++) service.syncMethod(i);
    expect(app.get(MidFactory).targets.length).toBe(before);
  });

  it('keeps two applications in one process independent', async () => {
    const [a, b] = [await start(), await start()];
    expect(a.get(MidFactory)).not.toBe(b.get(MidFactory));
    a.get(Service).syncMethod(1);
    a.get(Service).syncMethod(1);
    b.get(Service).syncMethod(1);
    expect(a.get(Service).calls).toBe(2);
    expect(b.get(Service).calls).toBe(1);
    await a.close();
    apps = apps.filter((x) => x !== a);
    expect(b.get(Service).syncMethod(5)).toBe(6);
  });

  it('runs the original on plain instances created outside Nest', () => {
    class Plain {
      @Mid('plain')
      hello(name: string) {
        return `hi ${name}`;
      }
    }
    expect(new Plain().hello('x')).toBe('hi x');
    expect(trace).toEqual([]);
  });

  it('fails closed on an @Injectable instance whose pipeline was never built, even one made by hand', async () => {
    // What a unit test does: `new` on the class. Keel cannot tell that instance from one Nest made
    // before the pipelines were built, so it refuses rather than run without the lock.
    const instance = new Service();
    expect(() => instance.syncMethod(1)).toThrow(KeelPolicyNotInitializedError);
    expect(() => instance.syncMethod(1)).toThrow(
      /Service\.syncMethod has @Timed, @Retry, @WithLock/,
    );
    expect(() => instance.syncMethod(1)).toThrow(
      /import KeelCoreModule \(@keel\/core\), CoordinationModule/,
    );
    expect(() => instance.syncMethod(1)).toThrow(
      /in a unit test that creates the instance with `new`, wrap it: withoutPolicies\(new Service\(\.\.\.\)\)/,
    );
    expect(instance.calls).toBe(0);
    @Controller('hand-made')
    class HandMade {
      @Mid('hand')
      get() {
        return 1;
      }
    }
    expect(() => new HandMade().get()).toThrow(KeelPolicyNotInitializedError);
    expect(trace).toEqual([]);
  });

  it('withoutPolicies() lets a unit test run a hand-made instance undecorated, explicitly', async () => {
    const instance = withoutPolicies(new Service());
    expect(instance).toBeInstanceOf(Service);
    expect(instance.syncMethod(1)).toBe(2);
    await expect(instance.writtenInnerFirst(3)).resolves.toBe(6);
    expect(instance.calls).toBe(1);
    expect(trace).toEqual(['method', 'method']);
    // Only that instance: another one made by hand still fails closed.
    expect(() => new Service().syncMethod(1)).toThrow(KeelPolicyNotInitializedError);
  });

  it('withoutPolicies() does not switch off the pipeline of an instance Nest built', async () => {
    const service = withoutPolicies((await start()).get(Service));
    expect(service.syncMethod(1)).toBe(2);
    expect(trace).toEqual(['retry:b', 'lock:b', 'method']);
  });

  it('fails at boot when the module owning a decorator is missing', async () => {
    @Injectable()
    class NeedsIdempotency {
      @Key('x')
      handle() {}
    }
    @Module({ providers: [NeedsIdempotency] })
    class Broken {}
    await expect(boot({ imports: [Broken] })).rejects.toThrow(KeelDecoratorError);
    await expect(boot({ imports: [Broken] })).rejects.toThrow(
      /NeedsIdempotency\.handle uses @Idempotent, but MessagingModule \(@keel\/messaging\) is not imported/,
    );
  });

  it('gives request-scoped instances their pipeline on first call', async () => {
    @Injectable({ scope: Scope.REQUEST })
    class PerRequest {
      @Mid('scoped')
      work(value: number) {
        return value * 3;
      }
    }
    @Module({ providers: [PerRequest] })
    class Scoped {}
    const app = await boot({ imports: [Scoped] });
    apps.push(app);
    const first = await app.resolve(PerRequest, ContextIdFactory.create());
    const second = await app.resolve(PerRequest, ContextIdFactory.create());
    expect(first).not.toBe(second);
    expect(first.work(2)).toBe(6);
    expect(second.work(3)).toBe(9);
    expect(trace).toEqual(['retry:scoped', 'retry:scoped']);
  });

  it('rejects a duplicate decorator at class definition', () => {
    expect(() => {
      class Twice {
        @Mid('1')
        @Mid('2')
        run() {}
      }
      return Twice;
    }).toThrow(/Twice\.run has @Retry twice/);
  });
});
