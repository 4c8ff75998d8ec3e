// The dashboard's charts, one function each (media/dashboard/, after charts.js): the figure of one part of the run's
// data `d`, in the theme's colours `p`.

/**
 * The rewards of many rounds as one point per bucket of rounds (the mean over the bucket, weighted by its bugs), so a
 * 500-round chart stays readable; the table keeps every round.
 */
function bucketRounds(perRound, maxPoints) {
  const size = Math.max(1, Math.ceil(perRound.length / maxPoints));
  const out = [];
  for (let i = 0; i < perRound.length; i += size) {
    const b = perRound.slice(i, i + size);
    const mean = (key) => {
      let sum = 0;
      let w = 0;
      for (const r of b) {
        if (r[key] === undefined || r[key] === null) continue;
        const k = Math.max(1, r.bugs || 0);
        sum += r[key] * k;
        w += k;
      }
      return w ? sum / w : null;
    };
    out.push({ label: size === 1 ? `${b[0].round}` : `${b[0].round}–${b[b.length - 1].round}`, x: b[0].round, inj: mean('meanRInject'), sol: mean('meanRSolve') });
  }
  return { size, points: out };
}

/** 1. Rewards per round (one point per bucket of rounds when there are many). */
function rewardsFigure(d, p) {
  const bucketed = bucketRounds(d.perRound, 100);
  const pts = bucketed.points;
  const per = bucketed.size > 1 ? ` Each point is the mean over ${bucketed.size} rounds (weighted by bugs); the table has every round.` : '';
  const fig = figure(
    'chart-rewards',
    'Mean reward per round',
    `r_inject (injector) and r_solve (solver), both in [-1, 1]; a round with no judged attempt has no r_solve.${per}`,
    dataTable(['round', 'bugs', 'mean r_inject', 'mean r_solve'], d.perRound.map((r) => [String(r.round), String(r.bugs), fmt(r.meanRInject), fmt(r.meanRSolve)])),
    {
      type: 'line',
      data: {
        labels: pts.map((x) => x.label),
        datasets: [
          { label: 'mean r_inject', data: pts.map((x) => x.inj), borderColor: p.orange, backgroundColor: p.orange, spanGaps: true, pointRadius: pts.length > 60 ? 1.5 : 3, borderWidth: 1.5 },
          { label: 'mean r_solve', data: pts.map((x) => x.sol), borderColor: p.blue, backgroundColor: p.blue, spanGaps: true, pointRadius: pts.length > 60 ? 1.5 : 3, borderWidth: 1.5 },
        ],
      },
      options: Object.assign(baseOptions(p, axes(p, bucketed.size > 1 ? `round (mean of ${bucketed.size} rounds per point)` : 'round', 'mean reward', { min: -1, max: 1 })), {}),
    },
  );
  if (bucketed.size > 1) {
    const sc = queued[queued.length - 1].config.options.scales;
    sc.x.ticks = { color: p.fg, maxRotation: 0, autoSkip: true, maxTicksLimit: 10 };
  }
  return fig;
}

/** 2. The solve-rate histogram. */
function histogramFigure(d, p) {
  return figure(
    'chart-histogram',
    'Solve-rate histogram',
    'Bugs per solve rate s. The curriculum is at the right difficulty when bugs sit in the middle, not at s=0 or s=1 (r_inject = -alpha there).',
    dataTable(['solve rate', 'bugs'], d.histogram.map((h) => [h.bin, String(h.bugs)])),
    {
      type: 'bar',
      data: { labels: d.histogram.map((h) => h.bin), datasets: [{ label: 'bugs', data: d.histogram.map((h) => h.bugs), backgroundColor: d.histogram.map((h) => (h.bin === 's=0' || h.bin === 's=1' ? p.red : p.green)) }] },
      options: baseOptions(p, axes(p, 'solve rate s', 'bugs', { beginAtZero: true, ticks: { precision: 0, color: p.fg } }), false),
    },
  );
}

/** 3. Validity: invalid bugs by their first failing check. */
function validityFigure(d, p) {
  const t = d.totals;
  return figure(
    'chart-validity',
    'Invalid bugs by first failing check',
    `${t.validBugs} valid, ${t.invalidBugs} invalid${t.validShare !== undefined ? `; valid share of first-order proposals ${pct(t.validShare)}` : ''}${t.proposalsFailed ? `; ${t.proposalsFailed} round(s) without a proposal` : ''}.`,
    dataTable(['check', 'bugs failing it first'], d.failuresPerCheck.map((f) => [f.check, String(f.failures)])),
    {
      type: 'bar',
      data: { labels: d.failuresPerCheck.map((f) => f.check), datasets: [{ label: 'bugs failing it first', data: d.failuresPerCheck.map((f) => f.failures), backgroundColor: p.red }] },
      // Horizontal bars: the value axis is x.
      options: Object.assign(baseOptions(p, { x: Object.assign(axes(p, 'bugs', '').x, { beginAtZero: true, ticks: { precision: 0, color: p.fg } }), y: Object.assign(axes(p, '', 'check').y, {}) }, false), { indexAxis: 'y' }),
    },
  );
}

/** 4. Time per stage. */
function stagesFigure(d, p) {
  const t = d.totals;
  return figure(
    'chart-stages',
    'Time per stage',
    `Mean wall time of one propose, validate and solve stage (from the run's events).${t.artifactsPerHour !== undefined ? ` ${fmt(t.artifactsPerHour, 1)} valid artifacts per hour.` : ''}`,
    dataTable(['stage', 'times', 'mean', 'total'], d.stages.map((s) => [s.stage, String(s.count), secs(s.meanMs), s.count ? secs(s.totalMs) : ''])),
    {
      type: 'bar',
      data: { labels: d.stages.map((s) => s.stage), datasets: [{ label: 'mean seconds', data: d.stages.map((s) => (s.meanMs === undefined ? 0 : s.meanMs / 1000)), backgroundColor: [p.purple, p.yellow, p.blue] }] },
      options: baseOptions(p, axes(p, 'stage', 'mean seconds', { beginAtZero: true }), false),
    },
  );
}

/** 5. Valid artifacts over time. */
function throughputFigure(d, p) {
  const t = d.totals;
  return figure(
    'chart-throughput',
    'Valid artifacts over time',
    'Cumulative valid bugs against minutes since the session started.',
    dataTable(['minutes', 'valid bugs'], d.validOverTime.map((v) => [fmt(v.minutes), String(v.valid)])),
    {
      type: 'line',
      data: { datasets: [{ label: 'valid bugs', data: d.validOverTime.map((v) => ({ x: v.minutes, y: v.valid })), borderColor: p.green, backgroundColor: p.green, stepped: true, borderWidth: 1.5, pointRadius: d.validOverTime.length > 60 ? 0 : 3 }] },
      options: baseOptions(p, Object.assign(axes(p, 'minutes', 'valid bugs', { beginAtZero: true, ticks: { precision: 0, color: p.fg } }), { x: { type: 'linear', title: { display: true, text: 'minutes', color: p.fg }, grid: { color: p.grid }, ticks: { color: p.fg } } }), false),
    },
  );
}

/** 6. The bug order mix. */
function ordersFigure(d, p) {
  return figure(
    'chart-orders',
    'Bug order mix',
    'First-order bugs come from the injector; second-order bugs from failed solver patches.',
    dataTable(['order', 'bugs', 'valid'], d.orderMix.map((o) => [o === undefined ? '' : `order ${o.order}`, String(o.bugs), String(o.valid)])),
    {
      type: 'bar',
      data: {
        labels: d.orderMix.map((o) => `order ${o.order}`),
        datasets: [
          { label: 'bugs', data: d.orderMix.map((o) => o.bugs), backgroundColor: p.blue },
          { label: 'valid', data: d.orderMix.map((o) => o.valid), backgroundColor: p.green },
        ],
      },
      options: baseOptions(p, axes(p, 'order', 'bugs', { beginAtZero: true, ticks: { precision: 0, color: p.fg } })),
    },
  );
}

/** 7. Tampered attempts (the judge's third outcome), per round; the table adds the policy versions. */
function tamperedFigure(d, p) {
  const per = d.perRound.map((r) => ({ round: r.round, n: r.tampered || 0 }));
  const versions = d.perPolicyVersion || [];
  const byVersion = versions.length ? ` Per policy version: ${versions.map((v) => `${v.policyVersion} ${v.tampered}/${v.attempts}`).join(', ')}.` : '';
  const rows = per.map((r) => [`round ${r.round}`, String(r.n)]).concat(versions.map((v) => [`policy ${v.policyVersion}`, `${v.tampered} of ${v.attempts} (solved ${v.solved})`]));
  return figure(
    'chart-tampered',
    'Tampered attempts',
    `Solver attempts the judge found tampered with (a harness file, a canary, a guard): rewarded -1, never solved. ${d.totals.tampered || 0} of ${d.totals.attempts} attempts.${byVersion}`,
    dataTable(['round or policy version', 'tampered attempts'], rows),
    {
      type: 'bar',
      data: { labels: per.map((r) => String(r.round)), datasets: [{ label: 'tampered attempts', data: per.map((r) => r.n), backgroundColor: p.red }] },
      options: baseOptions(p, axes(p, 'round', 'tampered attempts', { beginAtZero: true, ticks: { precision: 0, color: p.fg } }), false),
    },
  );
}

/** 8. Learning curves: per trainer update, the mean reward per role, the loss and the KL. */
function trainingFigure(d, p) {
  const tr = d.training;
  const line = (label, key, color, axis) => ({ label, data: tr.map((x) => (x[key] === undefined ? null : x[key])), borderColor: color, backgroundColor: color, spanGaps: true, pointRadius: tr.length > 60 ? 0 : 2, yAxisID: axis });
  const sc = axes(p, 'update', 'mean reward', { min: -1, max: 1, position: 'left' });
  sc.y2 = { position: 'right', title: { display: true, text: 'loss / KL', color: p.fg }, grid: { drawOnChartArea: false }, ticks: { color: p.fg } };
  return figure(
    'chart-training',
    'Learning curves',
    `Per trainer update: mean reward per role (left axis), loss and KL (right axis). Read from ${[...new Set(tr.map((x) => x.source))].join(', ')} (fields: ${d.trainingFields.join(', ')}).`,
    dataTable(['update', 'step', 'reward solver', 'reward injector', 'loss', 'KL', 'KL rollout'], tr.map((x) => [String(x.update), String(x.step), fmt(x.rewardSolver, 3), fmt(x.rewardInjector, 3), fmt(x.loss, 4), fmt(x.kl, 4), fmt(x.klRollout, 4)])),
    {
      type: 'line',
      data: { labels: tr.map((x) => String(x.update)), datasets: [line('reward solver', 'rewardSolver', p.blue, 'y'), line('reward injector', 'rewardInjector', p.orange, 'y'), line('loss', 'loss', p.red, 'y2'), line('KL', 'kl', p.purple, 'y2')] },
      options: baseOptions(p, sc),
    },
  );
}
