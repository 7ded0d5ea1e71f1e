/**
 * The ε budget ledger in the MetaStore (SQLite or PostgreSQL): `spend` is one conditional UPDATE, so two
 * processes spending on the same dataset at once can never overspend it together.
 */
import { sql } from 'kysely';
import type { MetaStore } from '../../storage/meta-store.ts';
import {
  BUDGET_TOLERANCE,
  type BudgetState,
  checkEpsilon,
  exceeded,
  noBudget,
  type PrivacyBudgetLedger,
  toState,
} from './differential-privacy.ts';

export class MetaStoreBudgetLedger implements PrivacyBudgetLedger {
  constructor(private readonly meta: MetaStore) {}

  async setBudget(dataset: string, epsilon: number): Promise<void> {
    checkEpsilon(epsilon);
    const updatedAt = new Date().toISOString();
    await this.meta
      .insertInto('privacy_budgets')
      .values({ dataset, budget: epsilon, spent: 0, updated_at: updatedAt })
      .onConflict((oc) =>
        oc.column('dataset').doUpdateSet({ budget: epsilon, spent: 0, updated_at: updatedAt }),
      )
      .execute();
  }

  async spend(dataset: string, epsilon: number): Promise<BudgetState> {
    checkEpsilon(epsilon);
    const result = await this.meta
      .updateTable('privacy_budgets')
      .set({ spent: sql`spent + ${epsilon}`, updated_at: new Date().toISOString() })
      .where('dataset', '=', dataset)
      .where(sql<boolean>`spent + ${epsilon} <= budget + ${BUDGET_TOLERANCE}`)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 1) {
      const state = await this.state(dataset);
      if (state) return state;
    }
    const current = await this.state(dataset);
    if (!current) throw noBudget(dataset);
    throw exceeded(dataset, epsilon, current);
  }

  async state(dataset: string): Promise<BudgetState | undefined> {
    const row = await this.meta
      .selectFrom('privacy_budgets')
      .select(['budget', 'spent'])
      .where('dataset', '=', dataset)
      .executeTakeFirst();
    return row ? toState(dataset, { budget: Number(row.budget), spent: Number(row.spent) }) : undefined;
  }
}
