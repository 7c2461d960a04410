"""Everything in one process on the embedded default: web (HTTP + WebSocket) over ASGI, a Celery
worker on the in-memory broker and the beat scheduler in a thread, running the same engine and
scheduler code as production."""

import os

import uvicorn
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the dashboard, API, admin and WebSocket on 127.0.0.1:$PORT (8000) through ASGI."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    def handle(self, *args, host: str, port: int, **options) -> None:
        from django.conf import settings

        from executions.worker import start_in_process_worker
        from scheduling.beat import start_in_process_beat

        if settings.REDIS_URL:
            self.stdout.write(
                "REDIS_URL is set: start `celery -A structforge worker` and `celery -A structforge beat` "
                "beside this process."
            )
        else:
            start_in_process_worker(concurrency=settings.STRUCTFORGE_STANDALONE_WORKERS)
            start_in_process_beat()
        self.stdout.write(f"StructForge on http://{host}:{port}/  (API /api/v1/docs/, admin /admin/)")
        uvicorn.run("structforge.asgi:application", host=host, port=port, log_level="info", lifespan="off")
