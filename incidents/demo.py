from inbox.hooks import DemoExtension

EXTENSION = DemoExtension(name="incidents")
