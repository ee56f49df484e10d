"""paho, lean: the MQTT client the worker (and the benchmark's bare subscriber) use.

No Django here: ``bench/ingest.py`` imports it as it is.
"""

from __future__ import annotations

import struct


class Received:
    """An incoming message, as the worker needs it."""

    __slots__ = ("_topic", "payload", "mid", "qos", "dup", "retain")

    def __init__(self, topic: bytes, payload: bytes, mid: int, qos: int, dup: bool, retain: bool):
        self._topic, self.payload, self.mid, self.qos = topic, payload, mid, qos
        self.dup, self.retain = dup, retain

    @property
    def topic(self) -> str:
        return self._topic.decode("utf-8", "replace")


_PUBACK = struct.Struct("!BBH")


def lean_client_class():
    """paho's client with a lean path for incoming QoS 0/1 PUBLISH packets.

    For every incoming MQTT 5 PUBLISH paho builds a ``Properties`` object and a message
    carrying its own ``threading.Condition``; measured under load that was half of the
    worker's CPU. This path reads the packet directly and hands on a small message
    object; packets it does not cover (QoS 2, any property, a topic alias) go through
    paho's own code. ``ack_many`` writes the acknowledgements of a batch in one go. It also
    reads the socket in 64 KiB chunks and takes every packet that has arrived at each
    wake-up (paho takes one packet per ``select()``, each with two or three ``recv()``).
    Both use paho internals (``_handle_publish``, ``_packet_queue``, ``_in_packet``);
    tests/test_worker_client.py checks them against paho's own decoding, so a paho release that
    changes them is caught there.
    """
    import paho.mqtt.client as mqtt

    class LeanClient(mqtt.Client):
        # paho reads one packet per select() and each packet with several recv() calls;
        # this reads what has arrived in 64 KiB chunks and every packet in them.
        _read_buffer = b""
        _read_pos = 0

        def _sock_recv(self, bufsize: int) -> bytes:
            if self._read_pos >= len(self._read_buffer):
                data = super()._sock_recv(65536)  # BlockingIOError when nothing is there
                if not data:
                    return data  # the connection is closed
                self._read_buffer, self._read_pos = data, 0
            pos = self._read_pos
            chunk = self._read_buffer[pos : pos + bufsize]
            self._read_pos = pos + len(chunk)
            return chunk

        def _reset_read_buffer(self) -> None:
            self._read_buffer, self._read_pos = b"", 0

        def reconnect(self):
            self._reset_read_buffer()  # nothing of the old connection may be read on the new
            return super().reconnect()

        def loop_read(self, max_packets: int = 1):
            if self._sock is None:
                return mqtt.MQTTErrorCode.MQTT_ERR_NO_CONN
            for _ in range(100_000):
                rc = self._packet_read()
                if rc > 0:
                    return self._loop_rc_handle(rc)
                if rc == mqtt.MQTTErrorCode.MQTT_ERR_AGAIN or self._sock is None:
                    break
            return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS

        def _handle_publish(self):
            header = self._in_packet["command"]
            qos = (header & 0x06) >> 1
            if qos == 2:
                return super()._handle_publish()
            packet = self._in_packet["packet"]
            length = (packet[0] << 8) | packet[1]
            pos = 2 + length
            mid = 0
            if qos:
                mid = (packet[pos] << 8) | packet[pos + 1]
                pos += 2
            if self._protocol == mqtt.MQTTv5:
                if length == 0 or pos >= len(packet) or packet[pos] != 0:
                    return super()._handle_publish()
                pos += 1  # an empty property list
            message = Received(
                bytes(packet[2 : 2 + length]),
                bytes(packet[pos:]),
                mid,
                qos,
                bool(header & 0x08),
                bool(header & 0x01),
            )
            on_message = self.on_message
            if on_message is not None:
                on_message(self, self._userdata, message)
            if qos == 1 and not self._manual_ack:
                return self._send_puback(mid)
            return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS

        def ack_many(self, mids: list[int]) -> None:
            """Acknowledge QoS 1 messages by their packet ids, in one write."""
            for start in range(0, len(mids), 4096):
                chunk = mids[start : start + 4096]
                packet = b"".join([_PUBACK.pack(0x40, 2, mid) for mid in chunk])
                self._packet_queue(mqtt.PUBACK, packet, 0, 0)

    return LeanClient
