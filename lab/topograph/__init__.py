"""The topology as a picture: a layered layout from the model (pure, `layout`), the sites'
colours (the PNG timelines' own), and the SVG/PNG of `lab graph` with the predicted catchment.
The dashboard draws the same layout live."""
