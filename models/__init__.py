"""SQLAlchemy models of Sambat, and the database handle."""

from models.audit import AuditEntry
from models.base import Base, Database, utcnow
from models.complaint import COMPLAINT_STATUSES, Complaint, Questionnaire, StatusEvent
from models.contact import Agency, Contact
from models.deadline import Assignment, ComplaintMerge, DeadlineAlert
from models.device import Device, DeviceAlert
from models.intake import ApiKey, Attachment
from models.learning import RouterModel, RoutingExample
from models.message import FINAL_STATUSES, STATUS_RANK, InboundMessage, Outbox
from models.user import User

__all__ = [
    "Agency", "Base", "COMPLAINT_STATUSES", "Complaint", "Contact", "Database", "FINAL_STATUSES",
    "ApiKey", "Attachment", "InboundMessage", "Outbox", "STATUS_RANK", "StatusEvent", "utcnow",
    "Assignment", "AuditEntry", "ComplaintMerge", "DeadlineAlert", "RouterModel", "RoutingExample", "User",
    "Device", "DeviceAlert", "Questionnaire",
]
