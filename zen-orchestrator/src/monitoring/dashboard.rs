//! The Cloud Monitoring dashboard of one service, as the `projects.dashboards`
//! resource of the Monitoring API v1:
//! <https://cloud.google.com/monitoring/api/ref_v3/rest/v1/projects.dashboards#Dashboard>
//! (Widget, XyChart, DataSet, TimeSeriesQuery, TimeSeriesTable: the pages
//! linked from there).

use std::collections::BTreeMap;

use serde::Serialize;

use super::promql::{self, Queries};

/// A dashboard, as `dashboards.create` takes it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    /// The title.
    pub display_name: String,
    /// Ours find it again ([`super::labels`]).
    pub labels: BTreeMap<String, String>,
    /// Tiles on a 48-column grid.
    pub mosaic_layout: MosaicLayout,
}

/// `MosaicLayout`.
#[derive(Debug, Clone, Serialize)]
pub struct MosaicLayout {
    /// The grid's width.
    pub columns: u32,
    /// The tiles.
    pub tiles: Vec<Tile>,
}

/// `MosaicLayout.Tile`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tile {
    /// Column of the left edge.
    pub x_pos: u32,
    /// Row of the top edge.
    pub y_pos: u32,
    /// Width in columns.
    pub width: u32,
    /// Height in rows.
    pub height: u32,
    /// What it shows.
    pub widget: Widget,
}

/// `Widget`: a title and one kind of content.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Widget {
    /// The tile's title.
    pub title: String,
    /// A line or bar chart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xy_chart: Option<XyChart>,
    /// A table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_series_table: Option<TimeSeriesTable>,
}

/// `XyChart`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct XyChart {
    /// One line set per query.
    pub data_sets: Vec<DataSet>,
    /// The left axis.
    pub y_axis: Axis,
}

/// `XyChart.DataSet`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataSet {
    /// The query.
    pub time_series_query: TimeSeriesQuery,
    /// `LINE` or `STACKED_BAR`.
    pub plot_type: &'static str,
    /// `Y1`.
    pub target_axis: &'static str,
}

/// `TimeSeriesQuery`, PromQL flavour.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeSeriesQuery {
    /// The PromQL.
    pub prometheus_query: String,
    /// The unit of the result (UCUM), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_override: Option<&'static str>,
}

/// `Axis`.
#[derive(Debug, Clone, Serialize)]
pub struct Axis {
    /// What the axis measures.
    pub label: String,
    /// `LINEAR`.
    pub scale: &'static str,
}

/// `TimeSeriesTable`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeSeriesTable {
    /// The rows' queries.
    pub data_sets: Vec<TableDataSet>,
}

/// `TimeSeriesTable.TableDataSet`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TableDataSet {
    /// The query.
    pub time_series_query: TimeSeriesQuery,
}

const COLUMNS: u32 = 48;
const TILE_WIDTH: u32 = 24;
const TILE_HEIGHT: u32 = 16;
/// The window of the charts' rates.
const CHART_WINDOW: promql::Window = "5m";
/// The window of the top-failures table and the usage charts.
const HOUR: promql::Window = "1h";

/// The dashboard of `service`; zen's usage charts too when `with_zen_usage`.
pub fn dashboard(
    service: &str,
    queries: &Queries,
    labels: BTreeMap<String, String>,
    with_zen_usage: bool,
) -> Dashboard {
    let mut widgets = vec![
        chart(
            "Calls per second, by function",
            "calls/s",
            vec![line(queries.call_rate(CHART_WINDOW, None), Some("1/s"))],
        ),
        chart(
            "Error ratio, by function (errors and panics / all calls)",
            "failed fraction",
            vec![line(queries.error_ratio(CHART_WINDOW), Some("1"))],
        ),
        chart(
            "Latency p50, p95, p99, by function",
            "seconds",
            [0.5, 0.95, 0.99]
                .into_iter()
                .map(|quantile| line(queries.latency(quantile, CHART_WINDOW, None), Some("s")))
                .collect(),
        ),
        Widget {
            title: "Top 10 failing functions, failed calls in the last hour".to_owned(),
            xy_chart: None,
            time_series_table: Some(TimeSeriesTable {
                data_sets: vec![TableDataSet {
                    time_series_query: TimeSeriesQuery {
                        prometheus_query: queries.top_failures(10, HOUR),
                        unit_override: None,
                    },
                }],
            }),
        },
    ];
    if with_zen_usage {
        use super::promql::{ZEN_COST, ZEN_INSTANCES, ZEN_RUNS, ZEN_TOKENS};
        use crate::usage_metrics::{KIND_ATTRIBUTE, OUTCOME_ATTRIBUTE, STATUS_ATTRIBUTE};
        widgets.extend([
            chart(
                "zen runs per hour, by outcome",
                "runs",
                vec![bars(queries.usage_increase(&ZEN_RUNS, Some(OUTCOME_ATTRIBUTE), HOUR))],
            ),
            chart(
                "zen instances per hour, by status",
                "instances",
                vec![bars(queries.usage_increase(
                    &ZEN_INSTANCES,
                    Some(STATUS_ATTRIBUTE),
                    HOUR,
                ))],
            ),
            chart(
                "zen tokens per hour, by kind",
                "tokens",
                vec![bars(queries.usage_increase(&ZEN_TOKENS, Some(KIND_ATTRIBUTE), HOUR))],
            ),
            chart(
                "zen cost per hour (USD)",
                "USD",
                vec![bars(queries.usage_increase(&ZEN_COST, None, HOUR))],
            ),
        ]);
    }
    let tiles = widgets
        .into_iter()
        .enumerate()
        .map(|(index, widget)| {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            Tile {
                x_pos: (index % 2) * TILE_WIDTH,
                y_pos: (index / 2) * TILE_HEIGHT,
                width: TILE_WIDTH,
                height: TILE_HEIGHT,
                widget,
            }
        })
        .collect();
    Dashboard {
        display_name: format!("{service}: functions (zen-telemetry)"),
        labels,
        mosaic_layout: MosaicLayout {
            columns: COLUMNS,
            tiles,
        },
    }
}

fn chart(title: &str, axis: &str, data_sets: Vec<DataSet>) -> Widget {
    Widget {
        title: title.to_owned(),
        xy_chart: Some(XyChart {
            data_sets,
            y_axis: Axis {
                label: axis.to_owned(),
                scale: "LINEAR",
            },
        }),
        time_series_table: None,
    }
}

fn line(query: String, unit: Option<&'static str>) -> DataSet {
    DataSet {
        time_series_query: TimeSeriesQuery {
            prometheus_query: query,
            unit_override: unit,
        },
        plot_type: "LINE",
        target_axis: "Y1",
    }
}

fn bars(query: String) -> DataSet {
    DataSet {
        plot_type: "STACKED_BAR",
        ..line(query, None)
    }
}
