"""What a run tells a reader: its name (run_naming), description and provenance (run_info,
provenance), headline metrics (headline), the experiment's tags (experiment), evaluation plots
(plots), the model card and the registry's descriptions (model_card, model_registry), what
`imr train` prints (console), `imr compare` (compare_table, compare_plot) and `imr ui` (ui_views,
ui_process)."""
