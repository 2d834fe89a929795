"""The Zeus courier back office: its pages (portal), the browser that drives them (browser), and
the shipments registered through them (shipments). Importing the package loads nothing heavy."""
