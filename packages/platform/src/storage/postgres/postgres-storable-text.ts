/**
 * A Kysely plugin for the MetaStore on PostgreSQL: every bound string with a NUL character has it as U+FFFD (the
 * replacement character). PostgreSQL text refuses NUL, so a login, a lookup or a write with one in a name or an id
 * failed the whole request; the warehouse stores NUL as U+FFFD already (docs/deployment-postgres.md), and the
 * metadata now does the same, so a lookup by such an id finds nothing instead of failing.
 */
import {
  type KyselyPlugin,
  OperationNodeTransformer,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type PrimitiveValueListNode,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
  type ValueNode,
} from 'kysely';

const storable = (value: unknown): unknown =>
  typeof value === 'string' && value.includes('\u0000') ? value.replaceAll('\u0000', '\ufffd') : value;

class StorableTextTransformer extends OperationNodeTransformer {
  protected override transformValue(node: ValueNode): ValueNode {
    const value = storable(node.value);
    return value === node.value ? node : { ...node, value };
  }

  protected override transformPrimitiveValueList(node: PrimitiveValueListNode): PrimitiveValueListNode {
    return node.values.some((value) => storable(value) !== value)
      ? { ...node, values: node.values.map(storable) }
      : node;
  }
}

export class PostgresStorableTextPlugin implements KyselyPlugin {
  readonly #transformer = new StorableTextTransformer();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}
