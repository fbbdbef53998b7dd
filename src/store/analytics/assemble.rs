//! Hands each program its part of what the aggregate statements returned, with every chart
//! period present (zero-filled) and the range's totals.

use super::buckets::Span;
use super::queries::{ByProgram, CardsRow, SeriesRow};
use super::{GoogleEvents, OrderTotals, Point, ProgramAnalytics, PushCounts, Rewards, TierCount};
use crate::domain::model::Program;
use crate::domain::rules::Kind;
use crate::store::outbox::CARD_KINDS;

/// What the statements returned, keyed by program id; `take` hands each program its part.
pub(super) struct Figures {
    pub cards: ByProgram<CardsRow>,
    pub google: ByProgram<GoogleEvents>,
    pub series: ByProgram<Vec<SeriesRow>>,
    pub active: ByProgram<i64>,
    pub rewards: ByProgram<i64>,
    pub push: ByProgram<Vec<(String, PushCounts)>>,
}

impl Figures {
    pub fn take(
        &mut self,
        program: Program,
        spans: &[Span],
        tiers: Option<Vec<TierCount>>,
    ) -> ProgramAnalytics {
        let id = program.id.as_str();
        let cards = self.cards.remove(id);
        let (series, orders, cashback_minor) = series(self.series.remove(id), spans);
        let mut push: Vec<PushCounts> = (CARD_KINDS.iter())
            .map(|kind| PushCounts {
                kind: (*kind).to_owned(),
                ..PushCounts::default()
            })
            .collect();
        for (_, counts) in self.push.remove(id).unwrap_or_default() {
            match push.iter_mut().find(|p| p.kind == counts.kind) {
                Some(slot) => *slot = counts,
                None => push.push(counts),
            }
        }
        ProgramAnalytics {
            cards: cards.as_ref().map(|c| c.cards.clone()).unwrap_or_default(),
            installs: cards.map(|c| c.installs).unwrap_or_default(),
            google_events: self.google.remove(id).unwrap_or_default(),
            active_holders: self.active.remove(id).unwrap_or(0),
            orders,
            series,
            tiers,
            rewards: Rewards {
                stamp_rewards: self.rewards.remove(id).unwrap_or(0),
                // Other kinds book an order's redemption as nothing.
                cashback_minor: if program.kind() == Kind::Cashback {
                    cashback_minor
                } else {
                    0
                },
            },
            push,
            kind: program.kind(),
            currency: program.currency,
            name: program.name,
            id: program.id,
        }
    }
}

/// Every span as a point (zero without orders), the range's totals and redeemed cashback.
fn series(rows: Option<Vec<SeriesRow>>, spans: &[Span]) -> (Vec<Point>, OrderTotals, i64) {
    let mut points: Vec<Point> = (spans.iter())
        .map(|s| Point {
            start: s.start,
            totals: OrderTotals::default(),
        })
        .collect();
    let (mut totals, mut cashback) = (OrderTotals::default(), 0);
    for row in rows.unwrap_or_default() {
        let slot = usize::try_from(row.bucket)
            .ok()
            .and_then(|i| points.get_mut(i));
        if let Some(point) = slot {
            point.totals.add(&row.totals);
            totals.add(&row.totals);
            cashback += row.cashback_redeemed_minor;
        }
    }
    (points, totals, cashback)
}

pub(super) fn group<T>(rows: Vec<T>, key: impl Fn(&T) -> String) -> ByProgram<Vec<T>> {
    let mut out: ByProgram<Vec<T>> = ByProgram::new();
    for row in rows {
        out.entry(key(&row)).or_default().push(row);
    }
    out
}
