//! Synthetic AsyncAPI 3.0 documents for the scale benchmarks, with a size knob.
//!
//! Each channel has a parameterized address, belongs to one of 20 streams, is
//! consumed by a durable, and carries a message whose payload uses about three
//! schemas: nested objects, string enums, arrays of objects, `$ref`s, optional
//! fields, `date-time`/`uuid` formats and maps (`additionalProperties`).
//! About 3.3 kB of YAML per channel.

use std::fmt::Write as _;

/// Streams the channels are spread over.
const DOMAINS: usize = 20;

/// The document for `channels` channels.
pub fn spec(channels: usize) -> String {
    let mut s = String::with_capacity(channels * 3400 + 4096);
    s.push_str("asyncapi: 3.0.0\ninfo:\n  title: Scale\n  version: 1.0.0\n  description: Synthetic platform document for the scale benchmarks.\n");
    s.push_str("x-jetstream:\n  streams:\n");
    for d in 0..DOMAINS {
        writeln!(s, "    D{d}:\n      subjects: ['domain{d}.>']\n      storage: file\n      maxAge: 7d").unwrap();
    }
    s.push_str("channels:\n");
    for i in 0..channels {
        let d = i % DOMAINS;
        write!(
            s,
            "  entity{i}Changed:
    address: domain{d}.entity{i}.{{tenantId}}.{{entityId}}.changed
    description: Entity {i} changed in domain {d}.
    parameters:
      tenantId:
        description: Tenant of the entity.
      entityId:
        description: Identifier of the entity.
    x-jetstream:
      stream: D{d}
    messages:
      changed:
        $ref: '#/components/messages/Entity{i}Changed'
"
        )
        .unwrap();
    }
    s.push_str("operations:\n");
    for i in 0..channels {
        write!(
            s,
            "  publishEntity{i}Changed:
    action: send
    channel:
      $ref: '#/channels/entity{i}Changed'
  consumeEntity{i}Changed:
    action: receive
    channel:
      $ref: '#/channels/entity{i}Changed'
    x-jetstream:
      durable: entity{i}-worker
      ackWait: 30s
      maxDeliver: 5
"
        )
        .unwrap();
    }
    s.push_str("components:\n  messages:\n");
    for i in 0..channels {
        write!(
            s,
            "    Entity{i}Changed:
      name: Entity{i}Changed
      title: Entity {i} changed
      contentType: application/json
      payload:
        $ref: '#/components/schemas/Entity{i}'
"
        )
        .unwrap();
    }
    s.push_str("  schemas:\n");
    for i in 0..channels {
        write!(
            s,
            "    Entity{i}:
      type: object
      description: State of entity {i}.
      required: [id, state, updatedAt, lines]
      properties:
        id:
          type: string
          format: uuid
        state:
          type: string
          enum: [new, active, suspended, closed]
        updatedAt:
          type: string
          format: date-time
        revision:
          type: integer
          format: int64
        note:
          type: string
          description: Free text, optional.
        owner:
          $ref: '#/components/schemas/Owner'
        labels:
          type: object
          additionalProperties:
            type: string
        lines:
          type: array
          items:
            $ref: '#/components/schemas/Entity{i}Line'
        audit:
          $ref: '#/components/schemas/Entity{i}Audit'
    Entity{i}Line:
      type: object
      required: [sku, quantity]
      properties:
        sku:
          type: string
        quantity:
          type: integer
          minimum: 1
        price:
          type: number
        kind:
          type: string
          enum: [standard, express, gift]
        dimensions:
          type: object
          properties:
            width:
              type: number
            height:
              type: number
    Entity{i}Audit:
      type: object
      properties:
        createdBy:
          type: string
        createdAt:
          type: string
          format: date-time
        history:
          type: array
          items:
            type: object
            properties:
              at:
                type: string
                format: date-time
              change:
                type: string
"
        )
        .unwrap();
    }
    s.push_str(
        "    Owner:
      type: object
      required: [id]
      properties:
        id:
          type: string
          format: uuid
        name:
          type: string
",
    );
    s
}
