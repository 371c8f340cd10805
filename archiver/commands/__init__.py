"""The project's ``scrapy`` commands (``COMMANDS_MODULE``): Scrapy's own, with the archiver's exit codes."""
