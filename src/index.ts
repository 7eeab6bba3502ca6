/**
 * aligndepth: where does alignment fine-tuning change a language model? The public API, grouped
 * load -> analyse -> plot -> display. Positions are 0-based indices inside the scored span:
 * position 0 is the first scored token (normally the first response token).
 */

// load
export { loadTokenLogs, TokenLogs } from "./load";
export { convertTokenLogs, writeTokenLogs, printDouble } from "./convert";
export type { ConvertOptions, ConvertResult } from "./convert";
export type { LoadOptions, LoadReport, FileReport } from "./load";
export { labelValues, probeSets, pickProbeSet, selectProbeSet } from "./labels";
export type { ProbeSelection } from "./labels";
export { AligndepthError, InvalidInputError, UsageError, formatProblem } from "./errors";
export type { Problem } from "./errors";
export type { Format, Layout, Column } from "./load/schema";
export { parseColumnMapping } from "./load/mapping";
export type { ColumnMapping } from "./load/mapping";
export type { ScoredRows } from "./load/scored";
export { loadAttackResults, parseSetPairs, parseSetValue, compileNamePattern, parseScale, parseAttackColumns, thresholdWarnings } from "./attacks/load";
export type { AttackRecord, AttackResults, AttackLoadOptions, AttackReport, AttackFileReport, ConditionValue } from "./attacks/load";

// analyse
export { momentsOf, mergeMoments, summarize } from "./stats/moments";
export type { Moments, Summary } from "./stats/moments";
export { positionProfile, positionMoments, mergePositionMoments, profileFromMoments } from "./stats/positionProfile";
export type { PositionProfileRow, PositionMoments, ProfileOptions } from "./stats/positionProfile";
export { updateProfile, updateMoments, mergeUpdateMoments, updateFromMoments } from "./stats/updateProfile";
export type { UpdateProfileRow, UpdateMoments, UpdateOptions } from "./stats/updateProfile";
export { updateMass, massByRun, earlyShare, depth } from "./stats/updateMass";
export type { UpdateMass, PositionDelta, MassOptions } from "./stats/updateMass";
export { bootstrapMass, groupDiffs, percentile, rng } from "./stats/bootstrap";
export type { ExampleDiffs, MassIntervals, Interval, BootstrapOptions } from "./stats/bootstrap";
export { concentration, concentrationFromUpdates, updateByStep } from "./stats/concentration";
export type { ConcentrationRow, StepUpdateRow } from "./stats/concentration";
export { summary, updateSummary } from "./stats/summary";
export type { RunSummary, RecipeSummary, SummaryResult, SummaryOptions } from "./stats/summary";
export { netShare } from "./stats/netShare";
export type { NetShare } from "./stats/netShare";
export { interpolatedDepth } from "./stats/interpolatedDepth";
export type { InterpolatedDepth } from "./stats/interpolatedDepth";
export { counterMovement } from "./stats/counterMovement";
export { levelShare, clampLevelValues } from "./stats/levelShare";
export { uniformEarlyShare, headroomEarlyShare } from "./stats/references";
export { bootstrapInterval, biasCorrection, acceleration, quantileSorted, INTERVAL_METHODS } from "./stats/bca";
export type { IntervalMethod, BootInterval } from "./stats/bca";
export { normalCdf, normalQuantile, t975 } from "./stats/distributions";
export { exampleTable, weightedSums } from "./stats/exampleTable";
export type { ExampleTable } from "./stats/exampleTable";
export { runIntervals, runBootstrap, intervalsFrom, jackknife } from "./stats/runIntervals";
export type { RunData, CiInfo, RunBootstrap } from "./stats/runIntervals";
export { recipeIntervals, tInterval, meanSd } from "./stats/replicates";
export { pairedComparison, pairedP, replicatesForFamily } from "./stats/pairedComparison";
export type { PairedComparison, PairedRow, ComparisonSide } from "./stats/pairedComparison";
export { recipeComparisonRule, recipeRuleNote, tDifference } from "./stats/recipeDifference";
export type { RecipeComparisonRule, TDifference } from "./stats/recipeDifference";
export { compareUpdates } from "./stats/updateComparison";
export type { UpdateComparison, UpdateComparisonOptions } from "./stats/updateComparison";
export { compareRunsAll } from "./stats/compareRunsAll";
export type { CompareRunsAllOptions, RunsComparison } from "./stats/compareRunsAll";
export { loadRunData } from "./stats/runData";
export { holm } from "./stats/holm";
export { groupRecipes, compileRecipePattern, recipeGrouping, recipeLabelsOf } from "./stats/recipes";
export type { RecipeGrouping } from "./stats/recipes";
export { UPDATE_STATISTICS } from "./stats/updateStatistics";
export { positionStart, positionStartWarnings } from "./stats/positionStart";
export type { PositionStart } from "./stats/positionStart";
export { wilson, attackSuccess, asrByK, asrByPrefixLen, asrBySpanLen, asrTable2d, Z95 } from "./attacks/asr";
export type { AsrRow, AsrOptions, AsrTable2d, Interval as AsrInterval } from "./attacks/asr";
export { asrInterval } from "./attacks/asr";
export type { MarginalOptions } from "./attacks/asr";
export { clusterBootstrapAsr, clusterReplicates, outcomesByExample, exampleIds, pooledAsr, percentileInterval } from "./attacks/clusterBootstrap";
export type { ExampleOutcomes, ClusterBootstrapOptions } from "./attacks/clusterBootstrap";
export { conditionOf, conditionKey, conditionLabel, groupByCondition } from "./attacks/conditions";
export type { AttackCondition } from "./attacks/conditions";
export { compareAttacks, bootstrapP } from "./attacks/compare";
export type { AttackComparison, AttackComparisonRow, AttackComparisonMethod, CompareAttacksOptions } from "./attacks/compare";
export { recipeAsr, recipeAsrAsRuns } from "./attacks/recipeAsr";
export type { RecipeAsrRow, RecipeAsrOptions } from "./attacks/recipeAsr";
export { exampleBreakdown } from "./attacks/breakdown";
export type { ExampleBreakdown, ExampleBreakdownRow, ExampleBreakdownOptions } from "./attacks/breakdown";
export { mcnemarExact, binomCdfHalf } from "./stats/mcnemar";
export { newcombePaired, newcombeIndependent, newcombePhi } from "./stats/newcombe";
export type { PairedTable } from "./stats/newcombe";
export { cohenH } from "./stats/cohenH";
export { attackReach } from "./attacks/reach";
export type { AttackReach, AttackReachOptions } from "./attacks/reach";
export { compareRuns, attackSummaries } from "./stats/compare";
export type { CompareOptions, RunComparison, AttackSummary } from "./stats/compare";
export { profileSeries, finalSteps, gradientMetrics } from "./stats/profileSeries";
export type { ProfileSeries } from "./stats/profileSeries";
export { exampleTokens, largestUpdates } from "./stats/tokens";
export { recipeProfile, recipeUpdateByStep, recipeSeries } from "./stats/recipeProfile";
export type { RecipeProfileRow } from "./stats/recipeProfile";
export type { TokenRow, TokenUpdate, LargestUpdatesOptions } from "./stats/tokens";

export { describeSummary, describeRecipe, compareConcentration, describeConcentration, describeProfileChange, describeOverlay, describeAsr, describeAttackReach, describeAttackComparison, describeUpdateByStep, describeLargestUpdates, describePairedComparison } from "./describe";

// plot
export type { Figure } from "./figures/figure";
export { spreadSteps, downsample, profileYRange } from "./figures/figure";
export { metricByPositionFigure } from "./figures/metricByPosition";
export { metricByPositionSliderFigure } from "./figures/metricByPositionSlider";
export { metricOverStepsFigure } from "./figures/metricOverSteps";
export type { MetricOverStepsOptions } from "./figures/metricOverSteps";
export type { MetricByPositionSliderOptions } from "./figures/metricByPositionSlider";
export { updateHeatmapFigure } from "./figures/updateHeatmap";
export { ABSOLUTE_SHARE_CAVEAT, cumulativeShareFigure } from "./figures/cumulativeShare";
export { markPositionStart } from "./figures/positionStartNote";
export { earlyShareFigure } from "./figures/earlyShareOverTraining";
export { asrByKFigure, asrByPrefixLenFigure, asrBySpanLenFigure, asrLineFigure, asrHeatmapFigure } from "./figures/attacks";
export type { AsrLineOptions } from "./figures/attacks";
export { profileOverlayFigure } from "./figures/profileOverlay";
export type { ProfileOverlayOptions } from "./figures/profileOverlay";
export { compareRunsFigure } from "./figures/compareRuns";
export { profileFacetsFigure } from "./figures/profileOverlay";
export type { ProfilePanel } from "./figures/profileOverlay";
export { runColors, colorsFor, OKABE_ITO, RUN_COLOR_CYCLE, RUN_MARKERS } from "./figures/palette";
export type { RunColors, RunStyle, RunColorOptions } from "./figures/palette";
export { mostInformativeTable } from "./figures/attacks";
export { tokenViewHtml, tokenCells, displayToken } from "./figures/tokenView";
export type { TokenViewOptions, TokenCell } from "./figures/tokenView";
export { tokenTimelineHtml } from "./figures/tokenTimeline";
export type { TokenTimelineOptions } from "./figures/tokenTimeline";

// display
export { show, showHtml, showTable, figureHtml, figurePage, figureText, figureBundle, plotlyScript, plotlyBundleFor, tableHtml, tableText, scriptJson, escapeHtml, PLOTLY_MIME } from "./display";
export type { FigureHtmlOptions, ShowOptions, TableInput, TableOptions, PlotlyBundle } from "./display";

// export (PDF, SVG, PNG through headless Chromium)
export { saveFigure, exportFormatOf } from "./export/saveFigure";
export type { SaveFigureOptions, SavedFigure, ExportFormat } from "./export/saveFigure";

// report (one self-contained HTML file; the CLI's `aligndepth report`)
export { buildReport } from "./report/build";
export { recipeTableRows } from "./report/recipes";
export type { ReportOptions, ReportLimits } from "./report/build";

// tables
export { toDataFrame, textTable, flattenRows } from "./table";

// dynamics (METRICS 7: where the training gradient acts): load -> analyse -> plot -> describe
export { loadDynamicsLogs, joinTokenLogs, dynamicsKind, DYNAMICS_PREFIXES } from "./dynamics/load";
export type { DynamicsLogs, DynamicsLoadOptions, DynamicsReport, DynamicsFileReport, DynamicsKind, InfluenceRecord, TrainGradientRecord, ProbeChangeRecord, RunLabels, TokenJoin } from "./dynamics/load";
export { influenceMatrices, sourceProfile, predictedChange } from "./dynamics/influenceMatrix";
export type { InfluenceMatrix } from "./dynamics/influenceMatrix";
export { sourceEarlyShare } from "./dynamics/sourceEarlyShare";
export type { SourceEarlyShareRow } from "./dynamics/sourceEarlyShare";
export { tokenShares } from "./dynamics/tokenShare";
export { crossInfluence } from "./dynamics/crossInfluence";
export type { CrossInfluenceRow } from "./dynamics/crossInfluence";
export { trainGradientProfile } from "./dynamics/trainGradientProfile";
export type { TrainGradientProfileRow, TrainGradientPosition } from "./dynamics/trainGradientProfile";
export { approximationCheck, pearson } from "./dynamics/approximationCheck";
export type { ApproximationCheckRow, ApproximationPosition } from "./dynamics/approximationCheck";
export { seedInterval } from "./dynamics/seedInterval";
export type { SeedInterval, SeedIntervalOptions } from "./dynamics/seedInterval";
export { studentTQuantile, studentTCdf } from "./dynamics/studentT";
export { dynamicsSummary, DEFAULT_RECIPE_PATTERN, LEFT_OUT_WARNING } from "./dynamics/summary";
export type { DynamicsSummary, DynamicsOptions, InfluenceRow, RecipeInfluenceRow, RecipeTrainGradientRow } from "./dynamics/summary";
export { influenceHeatmapFigure } from "./figures/influenceHeatmap";
export type { InfluenceHeatmapOptions } from "./figures/influenceHeatmap";
export { sourceEarlyShareFigure } from "./figures/sourceEarlyShareOverTraining";
export type { SourceEarlyShareFigureOptions } from "./figures/sourceEarlyShareOverTraining";
export { predictedVsMeasuredFigure } from "./figures/predictedVsMeasured";
export type { PredictedVsMeasuredOptions } from "./figures/predictedVsMeasured";
export { describeSourceEarlyShare, describeTrainGradient, describeApproximation, describeRecipeContrast, describeApproximationByRecipe } from "./dynamics/describe";
export { recipeContrast } from "./dynamics/recipeContrast";
export { recipeInfluenceMatrices } from "./dynamics/recipeInfluenceMatrix";
export { approximationByRecipe } from "./dynamics/approximationByRecipe";
export type { ApproximationRecipeRow, ApproximationByRecipeOptions, SeedSpread } from "./dynamics/approximationByRecipe";
export type { RecipeInfluenceMatrix } from "./dynamics/recipeInfluenceMatrix";
export type { RecipeContrastRow, RecipeContrastOptions, DynamicsStatistic } from "./dynamics/recipeContrast";
