"""The baseline's two tables: tokens (by digest) and the posted rows."""
from django.db import models


class Token(models.Model):
    digest = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=100)

    def __str__(self):
        return self.name


class Row(models.Model):
    token = models.ForeignKey(Token, on_delete=models.CASCADE)
    action = models.CharField(max_length=200)
    resource = models.CharField(max_length=500, blank=True)
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.action} {self.resource}"
