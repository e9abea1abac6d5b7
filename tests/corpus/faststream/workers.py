"""FastStream NATS application with the JetStream subscriber shapes that need a
documented mapping in asyncapi-nats (see tests/corpus/faststream/README.md):

* `queue=` + `durable=` on a JetStream subscriber: FastStream creates a *push*
  consumer with a deliver group;
* `pull_sub=PullSub(batch=True)`: the handler receives a list, so FastStream
  documents the payload as an array although each wire message is one object;
* a plain durable pull consumer, a core NATS subscriber and a publisher.

`app` emits AsyncAPI 3.0.0, `app_v26` emits 2.6.0 (same broker).
"""

from datetime import datetime

from pydantic import BaseModel, Field

from faststream import FastStream
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.specification import AsyncAPI

broker = NatsBroker("nats://localhost:4222")
stream = JStream(name="shipments", declare=False)


class ShipmentBooked(BaseModel):
    """A shipment was booked with a carrier."""

    shipment_id: str = Field(..., description="Shipment identifier")
    carrier: str
    booked_at: datetime


class LabelPrinted(BaseModel):
    """A shipping label was printed."""

    shipment_id: str
    printer: str | None = None


class TrackingEvent(BaseModel):
    """A carrier scan of a parcel."""

    tracking_number: str
    status: str
    scanned_at: datetime


@broker.subscriber(
    "shipments.booked",
    stream=stream,
    durable="booking-workers",
    queue="booking-workers",
    description="Push consumer with a deliver group (queue= and durable=).",
)
async def on_shipment_booked(event: ShipmentBooked) -> None:
    pass


@broker.subscriber(
    "shipments.tracking",
    stream=stream,
    durable="tracking-batch",
    pull_sub=PullSub(batch_size=50, batch=True),
    description="Batch pull consumer: the handler receives up to 50 messages at once.",
)
async def on_tracking_batch(events: list[TrackingEvent]) -> None:
    pass


@broker.subscriber(
    "shipments.labels",
    stream=stream,
    durable="label-printer",
    pull_sub=PullSub(batch_size=10),
)
@broker.publisher("shipments.labels.printed")
async def on_label_requested(event: ShipmentBooked) -> LabelPrinted:
    return LabelPrinted(shipment_id=event.shipment_id)


def _spec(version: str) -> AsyncAPI:
    return AsyncAPI(
        title="Shipping Workers",
        version="1.0.0",
        description="FastStream corpus app: push+deliver group, batch pull, pull+publish.",
        schema_version=version,
    )


app = FastStream(broker, specification=_spec("3.0.0"))
app_v26 = FastStream(broker, specification=_spec("2.6.0"))
